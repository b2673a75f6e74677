"""The pool pings a PostgreSQL connection before use only after it sat idle (storage/db.py);
study_sessions keep room on their pages for the last-seen updates (migration 0014)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from proctor.storage import db

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def engine(pg_migrated: str) -> Iterator[Engine]:
    e = db.make_engine(pg_migrated)
    yield e
    e.dispose()


def _pid(engine: Engine) -> int:
    with engine.connect() as c:
        return int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _terminate(url: str, pid: int) -> None:
    """The server drops that backend, as a restart or an idle timeout would."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)")
    finally:
        admin.dispose()


def _counting_pings(engine: Engine) -> list[int]:
    pings: list[int] = []
    ping = engine.dialect.do_ping

    def counted(conn: Any) -> bool:
        pings.append(1)
        return ping(conn)

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def test_a_connection_in_steady_use_is_not_pinged(engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    pings = _counting_pings(engine)
    assert len({_pid(engine) for _ in range(5)}) == 1  # one pooled connection, reused
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(
        engine: Engine, pg_migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every checkout comes after idling
    pings = _counting_pings(engine)
    first = _pid(engine)  # a fresh connection: not pinged
    assert _pid(engine) == first and len(pings) == 1
    _terminate(pg_migrated, first)
    assert _pid(engine) != first  # the ping failed: the pool connected anew, the caller saw nothing
    assert len(pings) == 2


def test_a_connection_dead_within_the_window_fails_once_then_the_pool_reconnects(
        engine: Engine, pg_migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    first = _pid(engine)
    _terminate(pg_migrated, first)
    with pytest.raises(OperationalError):  # the API answers it 503, retry later
        _pid(engine)
    assert _pid(engine) != first


def test_study_sessions_keep_room_for_updates_in_place(engine: Engine) -> None:
    """Migration 0014: every batch of events moves its sessions' last-seen time; pages filled
    to 70% keep those updates on their page (HOT) instead of new versions in every index."""
    with engine.connect() as c:
        options = c.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE relname = 'study_sessions'").scalar_one()
    assert "fillfactor=70" in (options or []), options
