"""Nothing lost between the database and the broker: work derived from database state.

A task lives only in the broker: a Redis restart, a worker killed after `session.end`, a
vision worker killed mid-photo, and it is gone. The reconciler (a periodic job) finds what the
database says is owed and asks for it again; every task it asks for is idempotent (judging a
session, judging a challenge's pending photos, delivering a pending callback), so asking twice
costs a little work and never a duplicate.

Owed: an ended session without a current verdict (none, or computed before its last event
arrived), a photo still ``pending`` after ``grace_s``. Overdue callbacks are the outbox's own
reconciler (``callbacks.due_callbacks``, the `proctor.callbacks.sweep` job).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo

# longer than a face check or an evaluation ever takes while its worker lives
GRACE_S = 120.0


@dataclass(frozen=True)
class Owed:
    sessions: list[str] = field(default_factory=list)
    challenges: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {"sessions": len(self.sessions), "challenges": len(self.challenges)}


def owed_work(uow: UnitOfWork, *, now: datetime, grace_s: float = GRACE_S) -> Owed:
    cutoff = now - timedelta(seconds=grace_s)
    s = uow.session
    return Owed(sessions=ev_repo.ended_without_current_verdict(s, cutoff),
                challenges=ev_repo.challenges_with_stale_photos(s, cutoff))
