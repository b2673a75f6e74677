"""Thin tasks that deliver signed callbacks; and the hook that owes them on verdict changes.

With a broker, a failed attempt is retried by Celery after an exponential backoff with jitter
(the delay deliver_once computed and stored as next_attempt_at). In-process (no broker, the
embedded default) a retry would block the request that triggered it, so the first attempt runs
inline and later ones are left to the `proctor.callbacks.sweep` beat task (or
`proctor callbacks sweep`), which also picks up retries lost with a dead worker.
"""

from __future__ import annotations

from typing import Any

from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app, task_settings
from proctor.workers.tasks import VERDICT_HOOKS, task_uow


def owe_verdict_callbacks(uow: Any, done: Any) -> None:
    """VERDICT_HOOKS entry: a stored verdict's status changed (called inside its transaction)."""
    from proctor.services.callbacks import verdict_changed
    from proctor.services.policies import policy_for

    settings = task_settings()
    verdict_changed(uow, session_id=done.session_id, previous_status=done.previous_status,
                    settings=settings, policy=policy_for(settings), now=utcnow())


if owe_verdict_callbacks not in VERDICT_HOOKS:
    VERDICT_HOOKS.append(owe_verdict_callbacks)


@celery_app.task(name="proctor.callbacks.deliver", bind=True, max_retries=None)
def deliver_callback_task(self: Any, callback_id: str) -> str:
    from proctor.services.callbacks import deliver_once

    with task_uow() as uow:
        attempt = deliver_once(uow, callback_id=callback_id, settings=task_settings(),
                               now=utcnow())
    # Retried after the commit: the attempt count and the error are kept whatever happens next.
    if attempt.retry_in_s is not None and not self.request.is_eager:
        raise self.retry(countdown=attempt.retry_in_s)
    return attempt.status


@celery_app.task(name="proctor.callbacks.sweep")
def sweep_callbacks(grace_s: float | None = None) -> int:
    """Attempt every pending callback whose retry is overdue (in-process mode, lost retries)."""
    from proctor.services.callbacks import SWEEP_GRACE_S, due_callbacks

    with task_uow() as uow:
        due = due_callbacks(uow, now=utcnow(), grace_s=SWEEP_GRACE_S if grace_s is None else grace_s)
    for callback_id in due:
        deliver_callback_task.apply(args=[callback_id]) if celery_app.conf.task_always_eager \
            else deliver_callback_task.delay(callback_id)
    return len(due)
