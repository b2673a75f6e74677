"""Portal sessions in a signed cookie, and CSRF tokens bound to them.

The cookie holds {sid, csrf, iat}, signed (HMAC) and time-stamped with itsdangerous under the
portal's secret key; ``sid`` is a random token naming a server-side sign-in (a PortalLogin row,
services/accounts.py), so signing out or a password change revokes it: a copy of the cookie is
refused afterwards. It it is HttpOnly, SameSite=Lax, limited to /portal and Secure whenever the
request came over HTTPS. Every POST form carries the cookie's csrf value in a hidden field and
the two must match (a cross-site form can send the cookie but cannot read it). A visitor who is
not signed in gets a cookie with a csrf value only, so the login form is protected too.
The user row is read on every request: a deactivated user is signed out at once.

``client_ip``: the address sign-in throttling counts; X-Forwarded-For is believed only when the
peer is one of the configured ``trusted_proxies``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from proctor.config import SECRET_FILE, Settings, secret_key  # noqa: F401  (kept here too)

COOKIE = "proctor_portal"
COOKIE_PATH = "/portal"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class PortalSession:
    sid: str | None  # the sign-in token (services/accounts.py), None before signing in
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
                sid = data.get("sid")
                csrf = data.get("csrf")
                if isinstance(csrf, str) and (sid is None or isinstance(sid, str)):
                    return PortalSession(sid, csrf, fresh=False)
            except BadSignature:
                pass
        return PortalSession(None, secrets.token_urlsafe(24), fresh=True)

    def store(self, request: Request, response: Response, session: PortalSession) -> None:
        value = self._serializer.dumps({"sid": session.sid, "csrf": session.csrf})
        response.set_cookie(COOKIE, value, max_age=self.max_age_s, path=COOKIE_PATH,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")

    def clear(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH)


def signed_in(sid: str) -> PortalSession:
    """A new session (and a new csrf token) at sign-in: nothing carries over from before."""
    return PortalSession(sid, secrets.token_urlsafe(24), fresh=True)


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             proxies: Sequence[Network]) -> bool:
    return addr is not None and any(addr.version == n.version and addr in n for n in proxies)


def client_ip(request: Request, proxies: Sequence[Network]) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the last
    X-Forwarded-For hop that is not itself a trusted proxy (hops further left were written by
    the client and prove nothing)."""
    peer = request.client.host if request.client else "unknown"
    if not _trusted(_address(peer), proxies):
        return peer
    hops = [h.strip() for line in request.headers.getlist("x-forwarded-for")
            for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _address(hop)
        if addr is None:
            return peer  # garbage from the proxy's side: count the proxy, not a made-up name
        if not _trusted(addr, proxies):
            return str(addr)
    return peer


def csrf_ok(session: PortalSession, submitted: str | None) -> bool:
    return bool(submitted) and not session.fresh and hmac.compare_digest(
        session.csrf.encode(), (submitted or "").encode())
