"""Use case: portal sign-in with argon2 passwords and throttling (per username and per IP).

Every attempt is a LoginAttempt row; more than `login_max_failures` failures within
`login_window_s` for the username, or from the IP, refuse further attempts until the window
passes, whether or not the password is right (so guessing can't continue behind the lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from proctor.config import Settings
from proctor.domain.errors import ProctorError
from proctor.services import audit_log
from proctor.services.users import hasher
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import LoginAttempt, User


class Throttled(ProctorError):
    status = 429
    code = "throttled"


@dataclass(frozen=True)
class SignIn:
    """The user on success; None with the attempt recorded (the caller commits it) on failure."""

    user: User | None
    error: str | None = None


def _failures(uow: UnitOfWork, column: InstrumentedAttribute[str], value: str,
              since: datetime) -> int:
    return int(uow.session.scalar(
        select(func.count()).select_from(LoginAttempt)
        .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at >= since)) or 0)


def sign_in(uow: UnitOfWork, *, username: str, password: str, ip: str, now: datetime,
            settings: Settings) -> SignIn:
    """Check the password; raises Throttled (nothing recorded) after too many failures."""
    username = username.strip()[:64]
    since = now - timedelta(seconds=settings.login_window_s)
    limit = settings.login_max_failures
    if (_failures(uow, LoginAttempt.username, username, since) >= limit
            or _failures(uow, LoginAttempt.ip, ip, since) >= limit):
        minutes = max(1, settings.login_window_s // 60)
        raise Throttled(f"尝试次数过多，请 {minutes} 分钟后再试")
    user = uow.session.scalar(select(User).where(User.username == username))
    ok = False
    if user is not None and user.active:
        try:
            ok = hasher.verify(user.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
    else:
        # Spend the same time on an unknown name, so timing doesn't tell which names exist.
        hasher.hash(password or "-")
    uow.session.add(LoginAttempt(username=username, ip=ip[:64], at=now, success=ok))
    uow.session.flush()
    if not ok or user is None:
        return SignIn(None, "用户名或密码不正确")
    audit_log.append(uow, actor=audit_log.actor_of(user), action="user.login",
                     subject=f"user:{user.id}", at=now, payload={"ip": ip})
    return SignIn(user)
