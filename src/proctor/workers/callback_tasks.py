"""Thin tasks that deliver signed callbacks (services.callbacks writes them to the outbox).

With a broker, a failed attempt is retried by Celery after an exponential backoff with jitter
(the delay deliver_once computed and stored as next_attempt_at). In-process (no broker, the
embedded default) a retry would block the request that triggered it, so the first attempt runs
inline and later ones are left to the `proctor.callbacks.sweep` beat task (or
`proctor callbacks sweep`), which also picks up retries lost with a dead worker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from proctor.services import jobs
from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings, task_uow


@celery_app.task(name=jobs.DELIVER_CALLBACK, bind=True, max_retries=None)
def deliver_callback_task(self: Any, callback_id: str) -> str:
    from proctor.services.callbacks import deliver_once

    with task_uow() as uow:
        attempt = deliver_once(uow, callback_id=callback_id, settings=task_settings(),
                               now=utcnow())
    # Retried after the commit: the attempt count and the error are kept whatever happens next.
    if attempt.retry_in_s is not None and not self.request.is_eager:
        raise self.retry(countdown=attempt.retry_in_s)
    return attempt.status


@celery_app.task(name=jobs.SWEEP_CALLBACKS)
def sweep_callbacks(grace_s: float | None = None, now_iso: str | None = None) -> int:
    """Attempt every pending callback whose retry is overdue (in-process mode, lost retries)."""
    from proctor.services.callbacks import SWEEP_GRACE_S, due_callbacks

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with task_uow() as uow:
        due = due_callbacks(uow, now=now, grace_s=SWEEP_GRACE_S if grace_s is None else grace_s)
        for callback_id in due:
            uow.enqueue(jobs.DELIVER_CALLBACK, callback_id)
    return len(due)
