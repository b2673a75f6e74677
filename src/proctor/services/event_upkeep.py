"""Use case: the events table's daily upkeep (PostgreSQL; nothing to do on SQLite).

One place for what beat's daily job and `proctor events partitions` both do: create the coming
months' partitions, detach and drop those past the retention (storage/partitions.py), then
rewrite settled months whose sessions lie scattered in session order (storage/compaction.py,
pg_repack), after the partitions' transaction has committed (pg_repack runs its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine

from proctor.storage import compaction, partitions


@dataclass
class Upkeep:
    partitioned: bool
    maintenance: partitions.Maintenance
    compaction: compaction.Compaction | None  # None: compaction switched off
    partitions_now: list[str]


def daily(engine: Engine, *, today: date, ahead_months: int, retention_months: int | None,
          compact_after_days: int | None) -> Upkeep:
    with engine.begin() as conn:
        if not partitions.is_partitioned(conn):
            return Upkeep(False, partitions.Maintenance(), None, [])
        done = partitions.maintain(conn, today=today, ahead_months=ahead_months,
                                   retention_months=retention_months)
        have = sorted(partitions.existing(conn))
    packed = (compaction.compact_settled(engine, today=today, after_days=compact_after_days)
              if compact_after_days is not None else None)
    return Upkeep(True, done, packed, have)
