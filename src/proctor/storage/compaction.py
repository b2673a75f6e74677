"""Settled months of events rewritten in session order, online, by pg_repack (PostgreSQL).

A session's events arrive over its whole sitting in small batches (the browser SDK sends every
2 s), each inserted beside other learners' batches, so in a busy month one session's rows lie
about one page per event. Judging a learner again reads every one of those pages: in the scale
bench 12,587 pages a learner, where ~170 would hold the rows. Once a month is settled (its
sessions long over), its partition is rewritten ordered by (session start day, session, seq):
a session's events then sit on a few adjacent pages, and its indexes are rebuilt packed.
This is TimescaleDB's reorder policy for old chunks, done with pg_repack (Debian's
``postgresql-NN-repack``): a trigger logs the rows written meanwhile (a late batch of an old
session), and locks are only brief, at the start and at the swap; a lock it can't get within
``wait_timeout_s`` makes it give up (``--no-kill-backend``), and the next day's job tries again.

Whether a month needs it is measured, not remembered: a sample of its sessions, how many pages
their rows lie on against how few would hold them (``scatter``).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Connection, Engine, text

from proctor.storage.partitions import existing, is_partitioned, month_start

# the order a settled month is rewritten in: the day its sessions began (event_key's top bits,
# so the server_ts BRIN stays useful at day grain), then each session's events in seq order,
# a seq sent twice in the order received, and within one batch in the order stored (key)
ORDER = "event_key >> 48, session_id, seq, server_ts, event_key"
# pages a sampled session's rows lie on over the fewest that would hold them, above which the
# month is rewritten (written in order, ~1.1-1.4 from page boundaries; SDK traffic, ~60)
SCATTERED = 3.0
SAMPLE_PAGES = 20  # pages sampled for sessions (TABLESAMPLE SYSTEM): ~20-60 sessions


@dataclass
class Compaction:
    compacted: list[str] = field(default_factory=list)
    in_order: list[str] = field(default_factory=list)  # settled, already in session order
    skipped: dict[str, str] = field(default_factory=dict)  # partition -> why not now
    scatter: dict[str, float] = field(default_factory=dict)  # settled, with rows: as measured


def settled(have: dict[str, date], *, today: date, after_days: int) -> list[str]:
    """Months whose sessions all began at least ``after_days`` days before ``today``, oldest first."""
    return [name for name, month in sorted(have.items(), key=lambda kv: kv[1])
            if month_start(month, 1) + timedelta(days=after_days) <= today]


def scatter(conn: Connection, name: str) -> float | None:
    """For sessions sampled from partition ``name``: the pages their rows lie on over the fewest
    pages that would hold them (1.0 = packed in order); None when it holds no rows."""
    pages, tuples = _size(conn, name)
    if pages <= 0 or tuples <= 0:  # never analysed yet (or empty): the catalog does not know
        conn.execute(text(f"ANALYZE {name}"))
        pages, tuples = _size(conn, name)
        if pages <= 0 or tuples <= 0:
            return None
    per_page = max(tuples / pages, 1.0)
    percent = min(100.0, 100.0 * SAMPLE_PAGES / pages)
    ids = list(conn.execute(text(
        f"SELECT DISTINCT session_id FROM {name} TABLESAMPLE SYSTEM ({percent:.6f})")).scalars())
    if not ids:
        return None
    rows = conn.execute(text(
        f"SELECT count(*), count(DISTINCT (ctid::text::point)[0]) FROM {name} "
        "WHERE session_id = ANY(:ids) GROUP BY session_id"), {"ids": ids}).all()
    fewest = sum(math.ceil(n / per_page) for n, _ in rows)
    return sum(p for _, p in rows) / fewest


def _size(conn: Connection, name: str) -> tuple[int, float]:
    """The catalog's pages and rows of table ``name`` (as of its last ANALYZE or VACUUM)."""
    pages, tuples = conn.execute(text(
        "SELECT relpages, reltuples FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": name}).one()
    return int(pages), float(tuples)


def _extension(conn: Connection) -> str | None:
    """Why pg_repack can't run in this database, or None when it can (creating its extension
    when the server has it and the role may)."""
    if shutil.which("pg_repack") is None:
        return "the pg_repack program is not installed (Debian: postgresql-15-repack)"
    if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_repack'")).first():
        return None
    if not conn.execute(text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_repack'")).first():
        return "the server has no pg_repack extension (Debian: postgresql-15-repack)"
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_repack"))
    except Exception as exc:  # noqa: BLE001 - any refusal (privilege) is reported, not raised
        return f"CREATE EXTENSION pg_repack failed: {str(exc).splitlines()[0]}"
    return None


def repack(engine: Engine, name: str, *, wait_timeout_s: int = 60) -> str | None:
    """Rewrite partition ``name`` in ``ORDER`` with pg_repack; None when done, else why not."""
    url = engine.url
    command = ["pg_repack", "--no-kill-backend", f"--wait-timeout={wait_timeout_s}",
               "--elevel=WARNING", f"--table={name}", f"--order-by={ORDER}",
               f"--dbname={url.database}"]
    if url.host:
        command.append(f"--host={url.host}")
    if url.port:
        command.append(f"--port={url.port}")
    if url.username:
        command.append(f"--username={url.username}")
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"pg_repack exited {done.returncode}: {(done.stderr or done.stdout).strip()[:500]}"
    return None


def compact_settled(engine: Engine, *, today: date, after_days: int,
                    wait_timeout_s: int = 60) -> Compaction:
    """Rewrite in session order each month settled ``after_days`` days before ``today`` whose
    rows lie scattered. A no-op on SQLite. Runs outside any transaction of the caller's."""
    done = Compaction()
    with engine.connect() as conn:
        if not is_partitioned(conn):
            return done
        names = settled(existing(conn), today=today, after_days=after_days)
        for name in names:
            measured = scatter(conn, name)
            if measured is not None:
                done.scatter[name] = measured
        conn.commit()
        todo = [name for name, s in done.scatter.items() if s >= SCATTERED]
        done.in_order = [name for name, s in done.scatter.items() if s < SCATTERED]
        cannot = _extension(conn) if todo else None
        conn.commit()
    for name in todo:
        why = cannot or repack(engine, name, wait_timeout_s=wait_timeout_s)
        if why is None:
            done.compacted.append(name)
        else:
            done.skipped[name] = why
    return done
