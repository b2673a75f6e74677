"""The reconciler job: re-enqueue, idempotently, the work the database says is owed
(services.reconcile). One line in proctor.workers.schedule.PERIODIC runs it."""

from __future__ import annotations

from datetime import datetime

from proctor.services import jobs
from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings, task_uow


@celery_app.task(name=jobs.RECONCILE)
def reconcile_task(now_iso: str | None = None) -> dict[str, int]:
    """Judge ended sessions left without a current verdict; judge again challenges whose photos
    are still pending (their face worker died). Enqueued after this job's commit."""
    from proctor.services.reconcile import owed_work

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with task_uow() as uow:
        owed = owed_work(uow, now=now, grace_s=task_settings().reconcile_grace_s)
        for challenge_id in owed.challenges:
            uow.enqueue(jobs.VERIFY_CHALLENGE, challenge_id, now.isoformat())
        for session_id in owed.sessions:
            uow.enqueue(jobs.EVALUATE_SESSION, session_id, now.isoformat())
    return owed.counts()
