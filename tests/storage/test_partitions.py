"""Monthly partitions of events on PostgreSQL: made ahead, strays moved in, old ones dropped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from proctor.storage import partitions
from proctor.storage.db import engine_for
from proctor.storage.repositories.study import day_number, event_key
from tests.conftest import _truncate_pg

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def pg(pg_migrated: str) -> Iterator[str]:
    _truncate_pg(pg_migrated)
    yield pg_migrated
    with engine_for(pg_migrated).begin() as conn:  # as the migration left it
        partitions.maintain(conn, today=datetime.now(UTC).date())


def _insert(conn, started: date, n: int = 3) -> str:  # type: ignore[no-untyped-def]
    sid = str(uuid.uuid4())
    for i in range(n):
        conn.execute(text(
            "INSERT INTO events (event_key, session_id, client_ts, server_ts, seq, type, event_id)"
            " VALUES (:k, CAST(:s AS uuid), now(), now(), :q, 5, :e)"),
            {"k": event_key(sid, day_number(started), f"e{i}"), "s": sid, "q": i + 1,
             "e": f"e{i}"})
    return sid


def _where(conn, sid: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(conn.execute(text("SELECT tableoid::regclass::text FROM events "
                                 "WHERE session_id = CAST(:s AS uuid)"), {"s": sid}).scalars())


def test_partitions_ahead_strays_and_retention(pg: str) -> None:
    today = date(2031, 5, 17)
    with engine_for(pg).begin() as conn:
        stray = _insert(conn, date(2031, 7, 2))  # no partition yet: the default one keeps it
        assert _where(conn, stray) == {partitions.DEFAULT}
        done = partitions.maintain(conn, today=today, ahead_months=2)
        assert {"events_p203105", "events_p203106", "events_p203107"} <= set(done.created)
        assert _where(conn, stray) == {"events_p203107"}  # moved into its month, all of it
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 3
        kept = _insert(conn, date(2031, 5, 1))
        assert _where(conn, kept) == {"events_p203105"}

        done = partitions.maintain(conn, today=date(2032, 1, 3), ahead_months=0,
                                   retention_months=7)
        assert "events_p203105" in done.dropped and "events_p203106" not in done.dropped
        assert "events_p203107" not in done.dropped
        assert _where(conn, kept) == set() and _where(conn, stray) == {"events_p203107"}
        assert "events_p203105" not in partitions.existing(conn)
