"""Use cases: short-lived session tokens for the learner's browser (CONTRACT §6, docs/sdk.md).

A token is a JWT (PyJWT, HS256) that names one open study session, its learner, its
institution and an expiry. It is signed with a key derived from the platform key that asked for
it (HMAC-SHA256 of the key's secret and a fixed label), so every API process can check it
without shared state, the secret itself never leaves the server, and revoking the platform key
kills its tokens. The session's end revokes them too: a token is checked against the stored
session on every call. Expiry is judged against the service's clock (``now``), never the
client's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from proctor.domain.errors import Conflict, Unauthorized
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import Learner, PlatformKey, StudySession

ISSUER = "proctor"
AUDIENCE = "proctor:session"
ALGORITHM = "HS256"
_LABEL = b"proctor session token v1"


@dataclass(frozen=True)
class SessionToken:
    token: str
    session_id: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenGrant:
    """What a verified token allows: one session of one institution's learner."""

    key_id: str
    institution_id: int
    session_id: str
    learner_id: str
    expires_at: datetime
    session_open: bool


def _signing_key(key: PlatformKey) -> bytes:
    return hmac.new(key.secret.encode(), _LABEL, hashlib.sha256).digest()


def mint(uow: UnitOfWork, *, key_id: str, study: StudySession, now: datetime,
         ttl_s: int) -> SessionToken:
    """A token for ``study`` signed with ``key_id``'s derived key; 409 once the session ended."""
    if study.status != "open":
        raise Conflict(f"session {study.id!r} has ended: no new token is issued", field="session_id")
    key = repo.active_key(uow.session, key_id)
    if key is None or key.institution_id != study.institution_id:
        raise Unauthorized("unknown or revoked platform key")
    learner = uow.session.get(Learner, study.learner_id)
    assert learner is not None
    exp = int((now + timedelta(seconds=ttl_s)).timestamp())
    claims: dict[str, object] = {"iss": ISSUER, "aud": AUDIENCE, "sub": study.id, "lrn": learner.ext_id,
              "ins": study.institution_id, "iat": int(now.timestamp()),
              "exp": exp, "jti": secrets.token_urlsafe(12)}
    token = jwt.encode(claims, _signing_key(key), algorithm=ALGORITHM, headers={"kid": key.key_id})
    return SessionToken(token=token, session_id=study.id,
                        expires_at=datetime.fromtimestamp(exp, UTC))


def verify(uow: UnitOfWork, token: str, *, now: datetime) -> TokenGrant:
    """The grant a token carries, or 401 naming why: malformed, forged, expired, revoked."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized("the session token is malformed") from None
    kid = header.get("kid")
    key = repo.active_key(uow.session, kid) if isinstance(kid, str) else None
    if key is None:
        raise Unauthorized("the session token's platform key is unknown or revoked")
    try:
        # expiry is checked below against the service's clock, not this process's wall clock
        claims = jwt.decode(token, _signing_key(key), algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=ISSUER, options={"verify_exp": False, "verify_iat": False,
                                                    "require": ["exp", "sub", "ins", "lrn"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"the session token is not valid ({exc})") from None
    expires = datetime.fromtimestamp(int(str(claims["exp"])), UTC)
    if now >= expires:
        raise Unauthorized("the session token has expired: renew it before it runs out, or ask "
                           "the platform for a new one", code="token_expired")
    study = uow.session.get(StudySession, str(claims["sub"]))
    if study is None or study.institution_id != key.institution_id or claims["ins"] != key.institution_id:
        raise Unauthorized("the session token names no session of this institution")
    learner = uow.session.get(Learner, study.learner_id)
    if learner is None or learner.ext_id != claims["lrn"]:
        raise Unauthorized("the session token names another learner")
    return TokenGrant(key_id=key.key_id, institution_id=key.institution_id, session_id=study.id,
                      learner_id=learner.ext_id, expires_at=expires,
                      session_open=study.status == "open")
