"""A real Celery worker process, real Redis broker, real PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from proctor.config import Settings, get_settings
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import WebhookReceipt
from proctor.workers import celery_app as celery_module
from tests.conftest import PG_URL, RUN_ID

RESULTS = "redis://127.0.0.1:6379/14"
BROKERS = {"redis": "redis://127.0.0.1:6379/14", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}

# this run's own queue: other test runs on the machine must not take our tasks
QUEUE = f"test-{RUN_ID}"

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture(params=sorted(BROKERS))
def worker(request: pytest.FixtureRequest, pg_migrated: str) -> Iterator[subprocess.Popen]:
    """A real worker on a real broker: Redis, and RabbitMQ (results in Redis for both)."""
    broker = BROKERS[request.param]
    env = {**os.environ, "PROCTOR_BROKER_URL": broker, "PROCTOR_RESULT_BACKEND": RESULTS,
           "PROCTOR_DATABASE_URL": PG_URL}
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app", "worker",
         "--pool", "solo", "-Q", QUEUE, "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    celery_module.configure(Settings(database_url=PG_URL, broker_url=broker, result_backend=RESULTS))
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        celery_module.configure(get_settings())


def test_worker_runs_a_task_through_the_broker(worker: subprocess.Popen) -> None:
    from proctor.workers.tasks import purge_webhook_receipts

    factory = session_factory(engine_for(PG_URL))
    with unit_of_work(factory) as uow:
        uow.session.query(WebhookReceipt).delete()
        uow.session.add(WebhookReceipt(key_id="pk_x", msg_id="old",
                                       received_at=utcnow() - timedelta(hours=1)))
        uow.session.add(WebhookReceipt(key_id="pk_x", msg_id="fresh", received_at=utcnow()))
    result = purge_webhook_receipts.apply_async(queue=QUEUE)
    try:
        removed = result.get(timeout=60)
    except Exception:
        worker.terminate()
        out = worker.stdout.read().decode() if worker.stdout else ""
        pytest.fail(f"worker did not answer: {out[-2000:]}")
    assert removed == 1
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(WebhookReceipt)) == 1
        assert s.scalar(select(WebhookReceipt.msg_id)) == "fresh"
    # the task really went through the broker, not in-process
    assert not celery_module.celery_app.conf.task_always_eager
