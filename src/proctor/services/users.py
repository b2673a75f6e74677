"""Use case: portal users (people, never platform keys)."""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from sqlalchemy import select, update

from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.domain.ids import is_county_code
from proctor.storage.db import UnitOfWork, utcnow
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import PortalLogin, User

ROLES = ("admin", "county_reviewer", "institution_staff", "auditor")
hasher = PasswordHasher()


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise InvalidInput("password must have at least 10 characters", field="password")


def create_user(uow: UnitOfWork, *, username: str, role: str, display_name: str,
                county_codes: list[str], institution: str | None, password: str) -> User:
    if not re.fullmatch(r"[A-Za-z0-9._-]{3,64}", username):
        raise InvalidInput("username: 3-64 characters of letters, digits, . _ -", field="username")
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    _check_password(password)
    bad = [c for c in county_codes if not is_county_code(c)]
    if bad:
        raise InvalidInput(f"county codes must be 6 digits: {', '.join(bad)}", field="county")
    if role == "county_reviewer" and not county_codes:
        raise InvalidInput("a county reviewer needs at least one county code", field="county")
    institution_id = None
    if role == "institution_staff":
        if not institution:
            raise InvalidInput("institution staff need --institution", field="institution")
        inst = repo.institution_by_name(uow.session, institution)
        if inst is None:
            raise NotFound(f"institution {institution!r} is not registered", field="institution")
        institution_id = inst.id
    if uow.session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} exists", field="username")
    user = User(username=username, display_name=display_name, role=role,
                county_codes=sorted(set(county_codes)), institution_id=institution_id,
                password_hash=hasher.hash(password))
    uow.session.add(user)
    uow.session.flush()
    return user


def revoke_sessions(uow: UnitOfWork, *, user_id: int, now: datetime) -> int:
    """Every portal sign-in of the user refused from now on (services/accounts.py)."""
    result = uow.session.execute(update(PortalLogin)
                                 .where(PortalLogin.user_id == user_id,
                                        PortalLogin.revoked_at.is_(None))
                                 .values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)  # a DML statement's CursorResult


def set_password(uow: UnitOfWork, *, user: User, password: str,
                 now: datetime | None = None) -> None:
    """A new password; every session signed in with the old one is revoked."""
    _check_password(password)
    user.password_hash = hasher.hash(password)
    revoke_sessions(uow, user_id=user.id, now=now or utcnow())
    uow.session.flush()
