"""Portal sessions in a signed cookie, and CSRF tokens bound to them.

The cookie holds {uid, csrf, iat}, signed (HMAC) and time-stamped with itsdangerous under the
portal's secret key; it is HttpOnly, SameSite=Lax, limited to /portal and Secure whenever the
request came over HTTPS. Every POST form carries the cookie's csrf value in a hidden field and
the two must match (a cross-site form can send the cookie but cannot read it). A visitor who is
not signed in gets a cookie with a csrf value only, so the login form is protected too.
The user row is read on every request: a deactivated user is signed out at once.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from proctor.config import SECRET_FILE, Settings, secret_key  # noqa: F401  (kept here too)

COOKIE = "proctor_portal"
COOKIE_PATH = "/portal"
@dataclass(frozen=True)
class PortalSession:
    uid: int | None
    csrf: str
    fresh: bool  # made for this request: the response must set the cookie


class SessionCodec:
    def __init__(self, key: str, max_age_s: int) -> None:
        self._serializer = URLSafeTimedSerializer(key, salt="proctor-portal-session")
        self.max_age_s = max_age_s

    def load(self, request: Request) -> PortalSession:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: dict[str, Any] = self._serializer.loads(raw, max_age=self.max_age_s)
                uid = data.get("uid")
                csrf = data.get("csrf")
                if isinstance(csrf, str) and (uid is None or isinstance(uid, int)):
                    return PortalSession(uid, csrf, fresh=False)
            except BadSignature:
                pass
        return PortalSession(None, secrets.token_urlsafe(24), fresh=True)

    def store(self, request: Request, response: Response, session: PortalSession) -> None:
        value = self._serializer.dumps({"uid": session.uid, "csrf": session.csrf})
        response.set_cookie(COOKIE, value, max_age=self.max_age_s, path=COOKIE_PATH,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH)


def signed_in(uid: int) -> PortalSession:
    """A new session (and a new csrf token) at sign-in: nothing carries over from before."""
    return PortalSession(uid, secrets.token_urlsafe(24), fresh=True)


def csrf_ok(session: PortalSession, submitted: str | None) -> bool:
    return bool(submitted) and not session.fresh and hmac.compare_digest(
        session.csrf.encode(), (submitted or "").encode())
