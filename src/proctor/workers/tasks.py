"""Thin tasks: open a unit of work, call one service, declare retries. They carry ids only.

What follows a verdict (later lessons, overlap partners, rechecks, callbacks, audit) is decided
by proctor.services.verdict_flow, which enqueues its follow-ups by name after the commit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from proctor.services import jobs
from proctor.storage.db import utcnow
from proctor.storage.replay import purge_receipts
from proctor.workers import (  # noqa: F401  (registers their tasks)
    callback_tasks,
    county_tasks,
    paperwork_tasks,
    partition_tasks,
    reconcile_tasks,
    reevaluate_tasks,
    vision_tasks,
)
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings, task_uow


def _now(now_iso: str | None) -> datetime:
    return datetime.fromisoformat(now_iso) if now_iso else utcnow()


@celery_app.task(name=jobs.PURGE_RECEIPTS)
def purge_webhook_receipts() -> int:
    """Forget webhook-ids older than twice the timestamp tolerance (they are refused anyway)."""
    with task_uow() as uow:
        return purge_receipts(uow, older_than_s=2 * task_settings().timestamp_tolerance_s)


@celery_app.task(name=jobs.EVALUATE_SESSION, autoretry_for=(OperationalError,),
                 retry_backoff=True, max_retries=5)
def evaluate_session_task(session_id: str, now_iso: str | None = None) -> str:
    """Judge one session, then let the verdict flow enqueue what follows.

    ``now_iso``: the server time the work was asked at (the API's clock); real now by default.
    """
    from proctor.services.evaluation import evaluate_session
    from proctor.services.policies import policy_for
    from proctor.services.verdict_flow import after_evaluation

    settings = task_settings()
    policy = policy_for(settings)
    now = _now(now_iso)
    with task_uow() as uow:
        done = evaluate_session(uow, session_id=session_id, policy=policy, now=now)
        after_evaluation(uow, done, settings=settings, policy=policy, now=now)
    return done.status


@celery_app.task(name=jobs.EVALUATE_IDLE_SESSIONS)
def evaluate_idle_sessions(now_iso: str | None = None) -> int:
    """Close sessions silent for longer than the policy's idle timeout, and judge them; judge
    again pending verdicts whose recheck time has come (events in flight, open challenges).
    Returns how many were queued.

    ``now_iso``: the server time (the simulator runs the beat in simulated time); real now by
    default.
    """
    from proctor.domain.model import SessionState
    from proctor.services.policies import policy_for
    from proctor.storage.repositories.evidence import open_idle_sessions, verdicts_to_recheck
    from proctor.storage.tables import StudySession

    policy = policy_for(task_settings())
    now = _now(now_iso)
    with task_uow() as uow:
        idle = open_idle_sessions(uow.session, now - timedelta(seconds=policy.idle_timeout_s))
        for sid in idle:
            study = uow.session.get(StudySession, sid)
            assert study is not None
            study.status, study.ended_at = SessionState.ENDED, study.last_event_at or study.started_at
        waiting = verdicts_to_recheck(uow.session, now)
        for sid in sorted({*idle, *waiting}):
            uow.enqueue(jobs.EVALUATE_SESSION, sid, now.isoformat())
    return len({*idle, *waiting})
