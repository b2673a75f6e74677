"""Platform keys for operators: list (never the secrets), rotate (a fresh key for the same
institution), revoke (refused from then on, 401)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from proctor.domain.errors import Conflict, NotFound
from proctor.services.registration import new_secret
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import Institution, PlatformKey


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    institution: str
    county: str
    created_at: str
    revoked_at: str | None


def list_keys(uow: UnitOfWork, *, include_revoked: bool = True) -> list[KeyInfo]:
    stmt = (select(PlatformKey, Institution)
            .join(Institution, Institution.id == PlatformKey.institution_id)
            .order_by(Institution.name, PlatformKey.created_at))
    if not include_revoked:
        stmt = stmt.where(PlatformKey.revoked_at.is_(None))
    return [KeyInfo(k.key_id, i.name, i.county_code, k.created_at.isoformat(),
                    k.revoked_at.isoformat() if k.revoked_at else None)
            for k, i in uow.session.execute(stmt)]


def _active(uow: UnitOfWork, key_id: str) -> PlatformKey:
    key = uow.session.scalar(select(PlatformKey).where(PlatformKey.key_id == key_id)
                             .with_for_update())
    if key is None:
        raise NotFound(f"no platform key {key_id!r}", field="key_id")
    if key.revoked_at is not None:
        raise Conflict(f"key {key_id} was revoked at {key.revoked_at.isoformat()}",
                       field="key_id")
    return key


def revoke(uow: UnitOfWork, *, key_id: str, now: datetime) -> PlatformKey:
    key = _active(uow, key_id)
    key.revoked_at = now
    uow.session.flush()
    return key


def rotate(uow: UnitOfWork, *, key_id: str, now: datetime, keep_old: bool = False
           ) -> PlatformKey:
    """A fresh key and secret for the key's institution; the old key is revoked at once unless
    ``keep_old`` (then revoke it once the platform has switched)."""
    old = _active(uow, key_id)
    new = PlatformKey(key_id="pk_" + secrets.token_hex(8), institution_id=old.institution_id,
                      secret=new_secret(), created_at=now)
    uow.session.add(new)
    if not keep_old:
        old.revoked_at = now
    uow.session.flush()
    return new
