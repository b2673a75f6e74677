"""A real Celery worker on the `vision` queue, real Redis and PostgreSQL: the API process
(run in its own fresh interpreter) enqueues face work and never imports dlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from proctor.storage.db import engine_for, session_factory
from proctor.storage.tables import Photo, SessionVerdict
from tests.conftest import PG_URL
from tests.processes import stop

BROKER = "redis://127.0.0.1:6379/13"
REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.face]


def _env(blobs: Path) -> dict[str, str]:
    # this worktree's code, not whatever the venv's editable install points at
    path = os.pathsep.join([str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "PROCTOR_BROKER_URL": BROKER,
            "PROCTOR_DATABASE_URL": PG_URL, "PROCTOR_BLOB_DIR": str(blobs)}


@pytest.fixture
def vision_worker(pg_migrated: str, tmp_path: Path) -> Iterator[Path]:
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_migrated)
    redis.Redis.from_url(BROKER).flushdb()
    blobs = tmp_path / "blobs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app", "worker",
         "--pool", "solo", "-Q", "vision,default", "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=_env(blobs), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield blobs
    finally:
        stop(proc, timeout=20)


def test_face_work_goes_through_the_vision_queue(vision_worker: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.workers.vision_api_run", PG_URL, BROKER, str(vision_worker)],
        env=_env(vision_worker), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    # the API answered at once and left the face work to the worker
    assert seen["enrol"][0] == 202 and seen["enrol"][1]["status"] == "processing"
    assert seen["face"]["status"] == "enrolled", seen
    assert seen["photo"][0] == 202
    assert seen["challenge"]["status"] == "passed", seen
    assert [p["outcome"] for p in seen["challenge"]["photos"]] == ["match"]
    assert seen["verdict"]["evaluated_at"] is not None  # the worker re-judged the session
    # ...and the API process never loaded the face models
    assert seen["dlib_imported"] is False and seen["face_models_imported"] is False
    with session_factory(engine_for(PG_URL))() as s:
        photo = s.scalar(select(Photo))
        assert photo is not None and photo.outcome == "match" and photo.distance < 0.6
        assert s.get(SessionVerdict, seen["session_id"]) is not None
