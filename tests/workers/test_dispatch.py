"""Jobs enqueued by name through the unit of work: sent after the commit only, with the
settings of the app whose unit of work enqueued them (a second app does not take them over)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from proctor.config import Settings
from proctor.main import create_app
from proctor.services import jobs
from proctor.storage.db import Job, engine_for, session_factory, unit_of_work
from proctor.storage.tables import SessionVerdict
from tests.factories import heartbeats, issue_key, ts


def test_jobs_are_sent_after_the_commit_and_never_after_a_rollback(settings: Settings) -> None:
    sent: list[Job] = []
    factory = session_factory(engine_for(settings.database_url), jobs=sent.append)
    with unit_of_work(factory) as uow:
        uow.enqueue(jobs.EVALUATE_SESSION, "s-1", "2026-01-01T00:00:00+00:00")
        uow.enqueue(jobs.EVALUATE_SESSION, "s-1", "2026-01-01T00:00:00+00:00")  # sent once
        uow.enqueue(jobs.DELIVER_CALLBACK, "msg_1", countdown_s=5.0)
        assert sent == []
    assert sent == [Job(jobs.EVALUATE_SESSION, ("s-1", "2026-01-01T00:00:00+00:00")),
                    Job(jobs.DELIVER_CALLBACK, ("msg_1",), 5.0)]
    sent.clear()


    def failing() -> None:
        with unit_of_work(factory) as uow:
            uow.enqueue(jobs.EVALUATE_SESSION, "s-2", None)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing()
    assert sent == []


def _sit(settings: Settings, client: TestClient) -> str:
    platform = issue_key(settings, client, "许昌市职业培训学校", "411002")
    sid = platform.ready_session()
    events = heartbeats(sid, 3)
    events.append({"id": f"end-{sid}", "session_id": sid, "seq": 4, "ts": ts(), "type": "session.end"})
    assert platform.api.post("/v1/events", {"events": events}).status_code == 200
    return sid


def test_a_second_app_in_the_process_does_not_take_over_the_first_apps_tasks(
        settings: Settings, tmp_path: Path, sqlite_template: Path) -> None:
    first = create_app(settings)
    other_db = tmp_path / "other.db"
    shutil.copy(sqlite_template, other_db)
    other = settings.model_copy(update={"database_url": f"sqlite:///{other_db}",
                                        "blob_dir": tmp_path / "other-blobs"})
    second = create_app(other)  # configured last
    with TestClient(first) as client:
        sid = _sit(settings, client)  # the session.end judges it, in-process, after the commit
    with session_factory(engine_for(settings.database_url))() as s:
        verdict = s.get(SessionVerdict, sid)
        assert verdict is not None  # judged on the first app's database
    with session_factory(engine_for(other.database_url))() as s:
        assert s.get(SessionVerdict, sid) is None
    assert second.state.settings is other


def test_db_echo_is_honoured(settings: Settings) -> None:
    """PROCTOR_DB_ECHO=true logs the SQL of the app and of its in-process tasks."""
    from proctor.workers.dispatch import factory_for

    app = create_app(settings.model_copy(update={"db_echo": True}))
    assert app.state.engine.echo is True
    assert factory_for(settings.model_copy(update={"db_echo": True})).kw["bind"].echo is True
    assert create_app(settings).state.engine.echo is False
