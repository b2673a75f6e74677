"""`proctor reevaluate` fans a course out as Celery chunks over two real workers (Redis broker
and results, real PostgreSQL), and its bar reads the chunks' progress."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import proctor
from tests.api.sitting import install_clock
from tests.conftest import RUN_ID
from tests.factories import Platform
from tests.test_reevaluate_cli import DURATION, _lenient_policy, _sit, _verdicts

BROKER = "redis://127.0.0.1:6379/14"
QUEUE = f"reeval-{RUN_ID}"  # this run's own queue: other runs on the machine can't take ours

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def _env(database_url: str) -> dict[str, str]:
    src = str(Path(proctor.__file__).resolve().parents[1])
    env = {**os.environ, "PROCTOR_DATABASE_URL": database_url, "PROCTOR_BROKER_URL": BROKER,
           "PROCTOR_RESULT_BACKEND": BROKER, "PROCTOR_REEVALUATE_QUEUE": QUEUE,
           "PROCTOR_REEVALUATE_CHUNK_LEARNERS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
    env.pop("PROCTOR_CONFIG_FILE", None)
    return env


def test_reevaluate_fans_out_over_two_workers(platform: Platform, app_client: TestClient,
                                              database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("workers share the real PostgreSQL; SQLite runs the same chunks in-process "
                    "(tests/test_reevaluate_cli.py)")
    clock = install_clock(app_client)
    platform.course(lessons=2, duration_s=DURATION, class_hours=0.25)
    learners = [f"stu-{i}" for i in range(1, 5)]
    skipped = []
    for learner in learners:
        platform.learner(learner)
        platform.enrol(learner)
        skipped.append(_sit(platform, app_client, clock, learner, "L2"))  # LESSON_ORDER
    assert {v.status for v in _verdicts(database_url).values()} == {"invalid"}
    env = _env(database_url)
    workers = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app", "worker",
         "--pool", "solo", "-Q", QUEUE, "-n", f"w{i}-{RUN_ID}@%h", "--loglevel", "INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    try:
        out = subprocess.run([sys.executable, "-m", "proctor.cli", "reevaluate", "--course",
                              "elec-101", "--policy", str(_lenient_policy(tmp_path))],
                             env=env, capture_output=True, text=True, timeout=240)
    finally:
        logs = []
        for w in workers:
            w.terminate()
            logs.append(w.communicate(timeout=30)[0])
    assert out.returncode == 0, out.stderr
    assert "4 session(s) of course elec-101 re-evaluated under henan-2021@2" in out.stdout
    assert "invalid -> valid: 4" in out.stdout
    assert "4/4" in out.stdout  # the bar reached the total the chunks reported
    after = _verdicts(database_url)
    assert all(after[s].status == "valid" and after[s].policy_version == "2" for s in skipped)
    # the chunks went through the broker to the workers (each logs the tasks it ran)
    ran = [log.count("proctor.reevaluate.chunk") for log in logs]
    assert sum(ran) >= 4, logs
