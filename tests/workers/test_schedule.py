"""One registry of periodic jobs (proctor.workers.schedule) feeds Celery beat and the embedded
beat; every job name services enqueue is a registered task; no import cycle among the workers."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from proctor.config import Settings
from proctor.main import create_app
from proctor.services import jobs
from proctor.storage.blobs import blob_store_from_settings
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import Photo, StudySession
from proctor.workers import embedded_beat
from proctor.workers.celery_app import celery_app, configure
from proctor.workers.schedule import PERIODIC
from tests.face_flows import add_challenge
from tests.factories import issue_key

SRC = Path(__file__).resolve().parents[2] / "src"


def test_celery_beat_and_the_embedded_beat_run_the_same_jobs(settings: Settings) -> None:
    configure(settings)
    beat = celery_app.conf.beat_schedule
    assert {(name, e["task"], e["schedule"]) for name, e in beat.items()} == \
        {(p.name, p.task, p.every_s) for p in PERIODIC}
    assert len(PERIODIC) == len({p.name for p in PERIODIC})
    # one embedded round (nothing ran yet) runs every job of the registry, by its registered task
    ran = embedded_beat.beat_once(utcnow(), settings)
    assert set(ran) == {p.name for p in PERIODIC}
    assert all(value is not None for value in ran.values()), ran  # None: the task failed


def test_the_embedded_beat_runs_each_job_at_its_own_interval() -> None:
    start = utcnow()
    last: dict = {}
    assert {p.name for p in embedded_beat.due(start, last)} == {p.name for p in PERIODIC}
    last.update({p.name: start for p in PERIODIC})
    assert embedded_beat.due(start + timedelta(seconds=59), last) == []
    hourly = {p.name for p in embedded_beat.due(start + timedelta(hours=1), last)}
    assert hourly == {p.name for p in PERIODIC if p.every_s <= 3600}
    assert "purge-old-photos" not in hourly
    assert "purge-old-photos" in {p.name for p in embedded_beat.due(start + timedelta(days=1), last)}


def test_every_job_name_is_a_registered_task() -> None:
    import proctor.workers.tasks  # noqa: F401

    assert [n for n in jobs.ALL if n not in celery_app.tasks] == []
    assert {p.task for p in PERIODIC} <= set(jobs.ALL)


@pytest.mark.parametrize("module", ["proctor.workers.tasks", "proctor.workers.callback_tasks",
                                    "proctor.workers.vision_tasks", "proctor.workers.dispatch",
                                    "proctor.workers.embedded_beat", "proctor.services.review",
                                    "proctor.services.verdict_flow", "proctor.services.callbacks"])
def test_each_module_imports_first_in_a_fresh_process(module: str) -> None:
    """No import cycle: whichever module a process imports first, it loads."""
    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True,
                          text=True, env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]


def test_make_run_purges_expired_photos(settings: Settings) -> None:
    """The embedded beat (the `make run` default, no broker) deletes photo files past retention."""
    settings = settings.model_copy(update={"embedded_beat_s": 0.1, "photo_retention_days": 30})
    app = create_app(settings)
    store = blob_store_from_settings(settings)
    data = b"\xff\xd8\xff" + uuid.uuid4().bytes  # the bytes do not matter to the purge
    blob = store.put(data)
    with TestClient(app) as client:
        platform = issue_key(settings, client, "许昌市职业培训学校", "411002")
        sid = platform.ready_session()
        cid = add_challenge(settings, sid, "photo")
        with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
            study = uow.session.get(StudySession, sid)
            assert study is not None
            uow.session.add(Photo(id=str(uuid.uuid4()), session_id=sid, challenge_id=cid,
                                  learner_id=study.learner_id,
                                  institution_id=study.institution_id,
                                  taken_at=utcnow() - timedelta(days=31), blob_key=blob.key,
                                  sha256=hashlib.sha256(data).hexdigest(),
                                  content_type="image/jpeg", outcome="match"))
        path = settings.blob_dir / blob.key
        assert path.exists()
        # the beat's first round may have run before the photo was there: a day later it is due
        app.state.clock = lambda: utcnow() + timedelta(days=1, seconds=1)
        deadline = time.monotonic() + 20
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not path.exists()
    with session_factory(engine_for(settings.database_url))() as s:
        row = s.query(Photo).filter_by(challenge_id=cid).one()
        assert row.blob_key is None and row.outcome == "match"  # the record is kept


def test_the_reconcilers_interval_is_a_setting_both_beats_obey() -> None:
    """The fault tests (tests/faults) run it every few seconds instead of every two minutes."""
    from proctor.workers.schedule import celery_beat_schedule

    fast = Settings(database_url="sqlite://", reconcile_every_s=2.0)
    assert celery_beat_schedule(fast)["reconcile"]["schedule"] == 2.0
    assert celery_beat_schedule(Settings(database_url="sqlite://"))["reconcile"]["schedule"] == 120.0
    configure(fast)
    try:
        assert celery_app.conf.beat_schedule["reconcile"]["schedule"] == 2.0
    finally:
        configure(Settings(database_url="sqlite://"))
    start = utcnow()
    last = {p.name: start for p in PERIODIC}
    from proctor.workers.schedule import periodic

    assert [p.name for p in embedded_beat.due(start + timedelta(seconds=3), last,
                                              periodic(fast))] == ["reconcile"]
