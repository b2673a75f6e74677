"""The reconciler job: re-enqueue, idempotently, the work the database says is owed
(services.reconcile). Registered in beat's schedule and in the embedded beat."""

from __future__ import annotations

from datetime import datetime

from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.tasks import evaluate_session_task, task_uow


@celery_app.task(name="proctor.reconcile")
def reconcile_task(now_iso: str | None = None) -> dict[str, int]:
    """Judge ended sessions left without a current verdict; judge again challenges whose photos
    are still pending (their face worker died)."""
    from proctor.services.reconcile import owed_work
    from proctor.workers.vision_tasks import verify_challenge_task

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with task_uow() as uow:
        owed = owed_work(uow, now=now)
    for challenge_id in owed.challenges:
        verify_challenge_task.delay(challenge_id, now.isoformat())
    for session_id in owed.sessions:
        evaluate_session_task.delay(session_id, now.isoformat())
    return owed.counts()
