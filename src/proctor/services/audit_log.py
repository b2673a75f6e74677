"""Use case: the append-only, hash-chained audit log (domain/audit.py seals, this stores).

Appending first writes the head row (an upsert, so the very first entries of an empty log can't
both start the chain: two parallel first appends used to collide on seq 1 with a 500), which
locks it on PostgreSQL and takes SQLite's one write lock before anything is read; then it seals
the entry after the current head and moves the head. The head is kept in its own
table so that a deleted tail is detected: nothing inside a chain can tell it was cut short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from proctor.domain.audit import AuditEntry as Entry
from proctor.domain.audit import SealedEntry, seal, verify_chain
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import AuditEntry, AuditHead, User

HEAD_ID = 1


def actor_of(user: User | None) -> str:
    """How people appear in the log: "user:7 李敏" (id first: names are not unique)."""
    return "system" if user is None else f"user:{user.id} {user.display_name}"


def _sealed(row: AuditEntry) -> SealedEntry:
    entry = Entry(seq=row.seq, at=row.at, actor=row.actor, action=row.action, subject=row.subject,
                  payload=row.payload or {})
    return SealedEntry(entry=entry, prev_hash=row.prev_hash, hash=row.hash)


def append(uow: UnitOfWork, *, actor: str, action: str, subject: str, at: datetime,
           payload: dict[str, Any] | None = None) -> AuditEntry:
    """Add one entry at the end of the chain, in the caller's transaction."""
    s = uow.session
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    claim = insert(AuditHead).values(id=HEAD_ID, seq=0, hash="")
    s.execute(claim.on_conflict_do_update(index_elements=[AuditHead.id],
                                          set_={"seq": AuditHead.seq}))
    head = s.scalar(select(AuditHead).where(AuditHead.id == HEAD_ID)
                    .execution_options(populate_existing=True))
    assert head is not None
    # seal() needs only the previous seq and hash: take them from the head, not from the last
    # row, so that an entry edited or deleted behind our back is not silently re-chained.
    prev = (SealedEntry(Entry(head.seq, at, "", "", ""), "", head.hash)
            if head is not None and head.seq > 0 else None)
    sealed = seal(Entry(seq=head.seq + 1, at=at, actor=actor, action=action,
                        subject=subject, payload=payload or {}), prev)
    row = AuditEntry(seq=sealed.seq, at=at, actor=actor, action=action, subject=subject,
                     payload=dict(sealed.entry.payload), prev_hash=sealed.prev_hash,
                     hash=sealed.hash)
    s.add(row)
    head.seq, head.hash = sealed.seq, sealed.hash
    s.flush()
    return row


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    broken_seq: int | None
    head: str


def verify(s: Session) -> Verification:
    """Walk the whole chain in seq order and compare its end with the head kept apart."""
    rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    head = s.get(AuditHead, HEAD_ID)
    expected = head.hash if head is not None else None
    broken = verify_chain([_sealed(r) for r in rows], expected_head=expected)
    if broken is None and head is None and rows:
        broken = 1  # entries without a head: the head row was removed
    return Verification(ok=broken is None, checked=len(rows), broken_seq=broken,
                        head=rows[-1].hash if rows else (expected or ""))


def count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def page(s: Session, *, offset: int, limit: int) -> list[AuditEntry]:
    """Newest first."""
    return list(s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())
                          .offset(offset).limit(limit)))
