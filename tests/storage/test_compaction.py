"""A settled month of events is rewritten in session order by pg_repack (storage/compaction.py):
every row kept, rows written meanwhile too, and only months that need it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from proctor.storage import compaction, partitions
from proctor.storage.db import engine_for
from proctor.storage.repositories.study import day_number, event_key
from tests.conftest import _truncate_pg

pytestmark = [pytest.mark.postgres]

MONTH = date(2030, 3, 1)
NAME = "events_p203003"
TODAY = date(2030, 4, 20)  # March's sessions all began more than 7 days ago


@pytest.fixture
def pg(pg_migrated: str) -> Iterator[str]:
    _truncate_pg(pg_migrated)
    with engine_for(pg_migrated).begin() as conn:
        partitions.maintain(conn, today=MONTH, ahead_months=2)
    yield pg_migrated
    _truncate_pg(pg_migrated)


def _interleaved(conn: Connection, started: date, *, sessions: int, each: int) -> list[str]:
    """Events of ``sessions`` sessions inserted one by one in turn, as small batches of learners
    studying at the same time land (a session's rows about one page per event)."""
    sids = [str(uuid.uuid4()) for _ in range(sessions)]
    day = day_number(started)
    rows = [{"k": event_key(sid, day, f"e{i}"), "s": sid, "q": i + 1, "e": f"e{i}",
             "t": datetime(started.year, started.month, started.day, 9, tzinfo=UTC)}
            for i in range(each) for sid in sids]
    conn.execute(text(
        "INSERT INTO events (event_key, session_id, client_ts, server_ts, seq, type, event_id, "
        "position) VALUES (:k, CAST(:s AS uuid), :t, :t, :q, 5, :e, :q * 1.5)"), rows)
    return sids


def _fingerprint(conn: Connection, table: str) -> tuple[int, str]:
    return conn.execute(text(
        f"SELECT count(*), md5(string_agg(e::text, '|' ORDER BY event_key)) FROM {table} e")).one()


def _pages(conn: Connection, sid: str) -> int:
    return int(conn.execute(text(
        f"SELECT count(DISTINCT (ctid::text::point)[0]) FROM {NAME} "
        "WHERE session_id = CAST(:s AS uuid)"), {"s": sid}).scalar_one())


def test_a_settled_month_is_rewritten_in_session_order_keeping_every_row(pg: str) -> None:
    engine = engine_for(pg)
    with engine.begin() as conn:
        sids = _interleaved(conn, date(2030, 3, 14), sessions=40, each=150)
        _interleaved(conn, date(2030, 4, 2), sessions=10, each=60)  # April: not settled yet
    with engine.connect() as conn:
        before, april = _fingerprint(conn, NAME), _fingerprint(conn, "events_p203004")
        spread = compaction.scatter(conn, NAME)
        assert spread is not None and spread > compaction.SCATTERED
        assert _pages(conn, sids[0]) >= 50  # 150 rows over a page or two per turn of 40
        conn.commit()

    done = compaction.compact_settled(engine, today=TODAY, after_days=7)
    assert done.compacted == [NAME] and not done.skipped, done
    assert done.scatter[NAME] > compaction.SCATTERED  # what it measured, reported

    with engine.connect() as conn:
        assert _fingerprint(conn, NAME) == before  # every row, every value
        assert _fingerprint(conn, "events_p203004") == april
        after = compaction.scatter(conn, NAME)
        assert after is not None and after < 1.6
        assert max(_pages(conn, sid) for sid in sids) <= 4  # 150 small rows: 2-3 pages
        # still a partition of events, its indexes valid and in use through the parent
        assert conn.execute(text(
            "SELECT inhparent::regclass::text FROM pg_inherits "
            "WHERE inhrelid = CAST(:t AS regclass)"), {"t": NAME}).scalar_one() == "events"
        assert conn.execute(text(
            "SELECT bool_and(indisvalid) AND count(*) = 3 FROM pg_index "
            "WHERE indrelid = CAST(:t AS regclass)"), {"t": NAME}).scalar_one()
        again = conn.execute(text(
            "INSERT INTO events (event_key, session_id, client_ts, server_ts, seq, type, event_id) "
            "SELECT event_key, session_id, client_ts, server_ts, seq, type, event_id FROM events "
            "WHERE session_id = CAST(:s AS uuid) ON CONFLICT (event_key) DO NOTHING"),
            {"s": sids[0]})
        assert again.rowcount == 0  # the primary key still holds them
        conn.rollback()

    second = compaction.compact_settled(engine, today=TODAY, after_days=7)
    assert second.compacted == [] and NAME in second.in_order  # measured in order: left alone


def test_rows_written_while_it_rewrites_are_kept(pg: str) -> None:
    engine = engine_for(pg)
    with engine.begin() as conn:
        _interleaved(conn, date(2030, 3, 3), sessions=100, each=400)
    late_sid, stop, written = str(uuid.uuid4()), threading.Event(), []

    def late_batches() -> None:  # a browser's queue of an old session, flushed meanwhile
        day = day_number(date(2030, 3, 30))
        with engine.connect() as conn:
            while not stop.is_set() and len(written) < 5000:
                key = event_key(late_sid, day, f"late{len(written)}")
                conn.execute(text(
                    "INSERT INTO events (event_key, session_id, client_ts, server_ts, seq, type, "
                    "event_id) VALUES (:k, CAST(:s AS uuid), now(), now(), :q, 5, :e)"),
                    {"k": key, "s": late_sid, "q": len(written) + 1, "e": f"late{len(written)}"})
                conn.commit()
                written.append(key)

    writer = threading.Thread(target=late_batches)
    writer.start()
    try:
        while not written:  # the writer is under way
            threading.Event().wait(0.01)
        first = len(written)
        done = compaction.compact_settled(engine, today=TODAY, after_days=7)
        during = len(written) - first
    finally:
        stop.set()
        writer.join()
    assert done.compacted == [NAME], done
    assert during > 10  # written while it measured and rewrote (pg_repack's copy and swap)
    with engine.connect() as conn:
        kept = set(conn.execute(text(
            f"SELECT event_key FROM {NAME} WHERE session_id = CAST(:s AS uuid)"),
            {"s": late_sid}).scalars())
        assert kept == set(written)
        assert conn.execute(text(f"SELECT count(*) FROM {NAME}")).scalar_one() == \
            40_000 + len(written)


def test_without_pg_repack_it_says_so_and_changes_nothing(pg: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    engine = engine_for(pg)
    with engine.begin() as conn:
        _interleaved(conn, date(2030, 3, 9), sessions=30, each=100)
    with engine.connect() as conn:
        before = _fingerprint(conn, NAME)
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without the program
    done = compaction.compact_settled(engine, today=TODAY, after_days=7)
    assert done.compacted == [] and "pg_repack program is not installed" in done.skipped[NAME]
    with engine.connect() as conn:
        assert _fingerprint(conn, NAME) == before
        assert compaction.scatter(conn, NAME) > compaction.SCATTERED  # type: ignore[operator]


def test_only_months_settled_long_enough_are_considered() -> None:
    have = {"events_p203002": date(2030, 2, 1), "events_p203003": date(2030, 3, 1),
            "events_p203004": date(2030, 4, 1)}
    assert compaction.settled(have, today=date(2030, 4, 7), after_days=7) == ["events_p203002"]
    assert compaction.settled(have, today=date(2030, 4, 8), after_days=7) == [
        "events_p203002", "events_p203003"]


def test_the_daily_command_compacts_a_settled_month(pg: str) -> None:
    """`proctor events partitions`, as beat runs it each day, against today's clock."""
    today = datetime.now(UTC).date()
    month = partitions.month_start(today, -2)  # ended more than a month ago: settled
    engine = engine_for(pg)
    with engine.begin() as conn:
        partitions.maintain(conn, today=month, ahead_months=0)
        _interleaved(conn, month.replace(day=5), sessions=30, each=100)
    env = {**os.environ, "PROCTOR_DATABASE_URL": pg}
    env.pop("PROCTOR_CONFIG_FILE", None)
    out = subprocess.run([sys.executable, "-m", "proctor.cli", "events", "partitions"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    name = partitions.partition_name(month)
    assert f"compacted in session order: {name}" in out.stdout, out.stdout + out.stderr
    with engine.connect() as conn:
        assert compaction.scatter(conn, name) < 1.6  # type: ignore[operator]


def test_beats_daily_task_compacts_and_reports(pg: str, tmp_path: Path) -> None:
    """The Celery task beat sends each day, run with a deployment's settings."""
    from proctor.config import Settings
    from proctor.workers.dispatch import running_with
    from proctor.workers.partition_tasks import maintain_event_partitions

    month = partitions.month_start(datetime.now(UTC).date(), -2)
    with engine_for(pg).begin() as conn:
        partitions.maintain(conn, today=month, ahead_months=0)
        _interleaved(conn, month.replace(day=8), sessions=30, each=100)
    name = partitions.partition_name(month)
    settings = Settings(database_url=pg, blob_dir=tmp_path, broker_url=None, redis_url=None)
    with running_with(settings):
        out = maintain_event_partitions.run()
    assert out["compacted"] == [name] and out["compaction_skipped"] == {}, out
    with running_with(settings.model_copy(update={"events_compact_after_days": None})):
        off = maintain_event_partitions.run()
    assert "compacted" not in off  # switched off: not even measured
