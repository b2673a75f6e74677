"""Use case: portal sign-in with argon2 passwords, throttling, and server-side sessions.

Throttling counts failures in three LoginCounter rows, each a fixed window of
`login_window_s` from its first failure: the account from this address (`login_max_failures`),
the account from everywhere (`login_max_failures_per_account`) and the address for every account
(`login_max_failures_per_ip`, high: a county office signs in from behind one NAT, so one
person's typos must not lock out colleagues). An attempt *reserves* its place in all three with
one upsert ... RETURNING each, committed at once and before the password is checked, so
parallel attempts each see their own count (a read-then-write would let 30 at once through);
an attempt over a limit gives its places back and is refused (429) unchecked, whether or not the
password is right; a right password gives them back too, so only failures count.
Every checked attempt is a LoginAttempt row, and a failure is in the audit log.

A successful sign-in is a PortalLogin row named by a random token the cookie carries (kept
hashed). `session_user` reads it on every request; signing out revokes it, a password change
(users.set_password) revokes all the user's sign-ins.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, Engine, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from proctor.config import Settings
from proctor.domain.errors import ProctorError
from proctor.services import audit_log
from proctor.services.users import hasher
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import LoginAttempt, LoginCounter, PortalLogin, User


class Throttled(ProctorError):
    status = 429
    code = "throttled"


@dataclass(frozen=True)
class SignIn:
    """The user and the new session's token on success; None with the attempt recorded (the
    caller commits it) on failure."""

    user: User | None
    error: str | None = None
    token: str | None = None


def _keys(username: str, ip: str, settings: Settings) -> list[tuple[str, int]]:
    return [(f"account+ip:{username}|{ip}", settings.login_max_failures),
            (f"account:{username}", settings.login_max_failures_per_account),
            (f"ip:{ip}", settings.login_max_failures_per_ip)]


def _reserve(conn: Connection, key: str, *, now: datetime, since: datetime) -> int:
    """One more failure on ``key`` (a new window if the last began before ``since``), atomically."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(LoginCounter).values(key=key, window_start=now, failures=1)
    stale = LoginCounter.window_start < since
    stmt = stmt.on_conflict_do_update(index_elements=[LoginCounter.key], set_={
        "failures": case((stale, 1), else_=LoginCounter.failures + 1),
        "window_start": case((stale, stmt.excluded.window_start),
                             else_=LoginCounter.window_start)})
    return int(conn.execute(stmt.returning(LoginCounter.failures)).scalar_one())


def _give_back(conn: Connection, keys: Sequence[str]) -> None:
    conn.execute(update(LoginCounter).where(LoginCounter.key.in_(keys), LoginCounter.failures > 0)
                 .values(failures=LoginCounter.failures - 1))


def _check_password(uow: UnitOfWork, username: str, password: str) -> User | None:
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        # Spend the same time on an unknown name, so timing doesn't tell which names exist.
        hasher.hash(password or "-")
        return None
    try:
        ok = hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if ok and hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user if ok else None


def sign_in(uow: UnitOfWork, *, username: str, password: str, ip: str, now: datetime,
            settings: Settings) -> SignIn:
    """Check the password; raises Throttled (nothing checked) after too many failures."""
    username = username.strip()[:64]
    ip = ip[:64]
    since = now - timedelta(seconds=settings.login_window_s)
    keys = _keys(username, ip, settings)
    bind = uow.session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    # its own short transaction: committed before the (slow) password check, so every parallel
    # attempt counts the others, and no row lock is held while argon2 runs
    with engine.begin() as conn:
        over = [key for key, limit in keys
                if _reserve(conn, key, now=now, since=since) > limit]
        if over:
            _give_back(conn, [key for key, _ in keys])
    if over:
        minutes = max(1, settings.login_window_s // 60)
        raise Throttled(f"尝试次数过多，请 {minutes} 分钟后再试")
    user = _check_password(uow, username, password)
    uow.session.add(LoginAttempt(username=username, ip=ip, at=now, success=user is not None))
    if user is None:
        audit_log.append(uow, actor=f"ip:{ip}", action="user.login_failed",
                         subject=f"username:{username}", at=now, payload={"ip": ip})
        uow.session.flush()
        return SignIn(None, "用户名或密码不正确")
    _give_back(uow.session.connection(), [key for key, _ in keys])
    token = start_session(uow, user=user, now=now, max_age_s=settings.session_max_age_s)
    audit_log.append(uow, actor=audit_log.actor_of(user), action="user.login",
                     subject=f"user:{user.id}", at=now, payload={"ip": ip})
    return SignIn(user, token=token)


# --- server-side sessions ------------------------------------------------------------------

def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(uow: UnitOfWork, *, user: User, now: datetime, max_age_s: int) -> str:
    """A new sign-in of ``user``; its token (for the cookie). The user's expired ones go."""
    s = uow.session
    cutoff = now - timedelta(seconds=max_age_s)
    for old in s.scalars(select(PortalLogin).where(PortalLogin.user_id == user.id,
                                                   PortalLogin.created_at < cutoff)):
        s.delete(old)
    token = secrets.token_urlsafe(32)
    s.add(PortalLogin(token_hash=_hash(token), user_id=user.id, created_at=now))
    s.flush()
    return token


def session_user(uow: UnitOfWork, *, token: str | None) -> User | None:
    """The active user signed in as ``token``; None if revoked, unknown or inactive. (Its age
    is the cookie's signed timestamp's to check, in real time: the app's clock may be a
    simulation's.)"""
    if not token:
        return None
    login = uow.session.get(PortalLogin, _hash(token))
    if login is None or login.revoked_at is not None:
        return None
    user = uow.session.get(User, login.user_id)
    return user if user is not None and user.active else None


def end_session(uow: UnitOfWork, *, token: str | None, now: datetime) -> None:
    """Sign out: the token is refused from now on, wherever a copy of the cookie is."""
    login = uow.session.get(PortalLogin, _hash(token)) if token else None
    if login is not None and login.revoked_at is None:
        login.revoked_at = now
        uow.session.flush()
