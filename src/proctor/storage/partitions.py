"""Monthly partitions of the events table on PostgreSQL (native range partitioning).

The partition key is ``event_key``, whose top bits are the day the event's session started
(storage/repositories/study.py), so one month of sessions is one partition: a session's events
are never split, and retention drops whole months of sessions. The project's own job
(``proctor events partitions``, and beat every day) creates partitions ahead of time and
detaches (and drops) those past the retention; rows outside every partition land in
``events_default`` rather than failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, text

from proctor.storage.repositories.study import day_number, key_floor

DEFAULT = "events_default"


def month_start(d: date, add: int = 0) -> date:
    months = d.year * 12 + d.month - 1 + add
    return date(months // 12, months % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"events_p{month:%Y%m}"


def bounds(month: date) -> tuple[int, int]:
    return key_floor(day_number(month)), key_floor(day_number(month_start(month, 1)))


def create_sql(month: date) -> str:
    low, high = bounds(month)
    return (f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF events "
            f"FOR VALUES FROM ({low}) TO ({high})")


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = 'events' AND c.relnamespace = current_schema()::regnamespace"
    )).first())


def existing(conn: Connection) -> dict[str, date]:
    rows = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' "
        "AND p.relnamespace = current_schema()::regnamespace"))
    out = {}
    for (name,) in rows:
        if name.startswith("events_p") and len(name) == len("events_p202601"):
            out[name] = date(int(name[8:12]), int(name[12:14]), 1)
    return out


@dataclass
class Maintenance:
    created: list[str] = field(default_factory=list)
    detached: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


def maintain(conn: Connection, *, today: date, ahead_months: int = 3,
             retention_months: int | None = None, drop_detached: bool = True) -> Maintenance:
    """Create this month's and ``ahead_months`` more; detach (and drop) months whose sessions
    all started more than ``retention_months`` ago. A no-op on SQLite."""
    done = Maintenance()
    if not is_partitioned(conn):
        return done
    have = existing(conn)
    for add in range(0, ahead_months + 1):
        month = month_start(today, add)
        if partition_name(month) not in have:
            _create(conn, month)
            done.created.append(partition_name(month))
    if retention_months is not None:
        oldest_kept = month_start(today, -retention_months)
        for name, month in sorted(have.items(), key=lambda kv: kv[1]):
            if month < oldest_kept:
                conn.execute(text(f"ALTER TABLE events DETACH PARTITION {name}"))
                done.detached.append(name)
                if drop_detached:
                    conn.execute(text(f"DROP TABLE {name}"))
                    done.dropped.append(name)
    return done


def _create(conn: Connection, month: date) -> None:
    """A new month; rows of it that had landed in the default partition move into it."""
    low, high = bounds(month)
    stray = conn.execute(text(f"SELECT 1 FROM {DEFAULT} WHERE event_key >= :lo "
                              "AND event_key < :hi LIMIT 1"), {"lo": low, "hi": high}).first()
    if stray is None:
        conn.execute(text(create_sql(month)))
        return
    tmp = f"{partition_name(month)}_move"
    conn.execute(text(f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT * FROM {DEFAULT} "
                      "WHERE event_key >= :lo AND event_key < :hi"), {"lo": low, "hi": high})
    conn.execute(text(f"DELETE FROM {DEFAULT} WHERE event_key >= :lo AND event_key < :hi"),
                 {"lo": low, "hi": high})
    conn.execute(text(create_sql(month)))
    conn.execute(text(f"INSERT INTO events SELECT * FROM {tmp}"))
