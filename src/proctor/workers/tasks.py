"""Thin tasks: open a unit of work, call one service, declare retries. They carry ids only."""

from __future__ import annotations

from proctor.config import get_settings
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.replay import purge_receipts
from proctor.workers.celery_app import celery_app


def task_uow():  # type: ignore[no-untyped-def]
    """A unit of work on the configured database, for use in tasks."""
    return unit_of_work(session_factory(engine_for(get_settings().database_url)))


@celery_app.task(name="proctor.maintenance.purge_receipts")
def purge_webhook_receipts() -> int:
    """Forget webhook-ids older than twice the timestamp tolerance (they are refused anyway)."""
    with task_uow() as uow:
        return purge_receipts(uow, older_than_s=2 * get_settings().timestamp_tolerance_s)
