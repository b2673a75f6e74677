"""Thin tasks: open a unit of work, call one service, declare retries. They carry ids only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.replay import purge_receipts
from proctor.workers.celery_app import celery_app, task_settings

# Called with (unit of work, Evaluated) when a stored verdict's status changes (callbacks).
VERDICT_HOOKS: list[Callable[[Any, Any], None]] = []


def task_uow():  # type: ignore[no-untyped-def]
    """A unit of work on the configured database, for use in tasks."""
    return unit_of_work(session_factory(engine_for(task_settings().database_url)))


@celery_app.task(name="proctor.maintenance.purge_receipts")
def purge_webhook_receipts() -> int:
    """Forget webhook-ids older than twice the timestamp tolerance (they are refused anyway)."""
    with task_uow() as uow:
        return purge_receipts(uow, older_than_s=2 * task_settings().timestamp_tolerance_s)


@celery_app.task(name="proctor.evaluate_session", autoretry_for=(OperationalError,),
                 retry_backoff=True, max_retries=5)
def evaluate_session_task(session_id: str, now_iso: str | None = None) -> str:
    """Judge one session; re-judge the learner's later lessons if its standing changed.

    ``now_iso``: the server time the work was asked at (the API's clock); real now by default.
    A pending verdict that the clock alone can settle (events still in flight, a challenge
    still open) is judged again then: with a broker by a delayed task, and always by the
    `evaluate_idle_sessions` beat (the only way in eager mode).
    """
    from proctor.services.evaluation import evaluate_session, later_sessions
    from proctor.services.policies import policy_for
    from proctor.storage.tables import StudySession

    settings = task_settings()
    with task_uow() as uow:
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        done = evaluate_session(uow, session_id=session_id, policy=policy_for(settings), now=now)
        if done.changed:
            study = uow.session.get(StudySession, session_id)
            assert study is not None
            for later in later_sessions(uow.session, study):
                uow.after_commit(lambda sid=later: evaluate_session_task.delay(sid, now_iso))
            for hook in VERDICT_HOOKS:
                hook(uow, done)
        # Two sessions playing at once are both at fault: the other one, judged before this one
        # overlapped it, is judged again (once: it will then see the overlap itself).
        for other in overlap_partners(uow.session, done):
            uow.after_commit(lambda sid=other: evaluate_session_task.delay(sid, now_iso))
        if done.recheck_at is not None and not celery_app.conf.task_always_eager:
            until = done.recheck_at
            uow.after_commit(lambda: evaluate_session_task.apply_async(
                (session_id, until.isoformat()), countdown=max((until - now).total_seconds(), 0)))
    return done.status


def overlap_partners(s: Any, done: Any) -> list[str]:
    """Sessions this verdict says overlapped it whose own stored verdict does not say so yet."""
    from proctor.storage.repositories.evidence import verdicts_for

    partners = {e["other_session"] for v in done.verdict.violations if v.rule == "MULTI_WINDOW"
                for e in v.evidence if "other_session" in e}
    stored = verdicts_for(s, sorted(partners))
    return [sid for sid in sorted(partners)
            if sid in stored and "MULTI_WINDOW" not in (stored[sid].rules or [])]


@celery_app.task(name="proctor.evaluate_idle_sessions")
def evaluate_idle_sessions(now_iso: str | None = None) -> int:
    """Close sessions silent for longer than the policy's idle timeout, and judge them; judge
    again pending verdicts whose recheck time has come (events in flight, open challenges).
    Returns how many were queued.

    ``now_iso``: the server time (the simulator runs the beat in simulated time); real now by
    default.
    """
    from proctor.services.policies import policy_for
    from proctor.storage.repositories.evidence import open_idle_sessions, verdicts_to_recheck
    from proctor.storage.tables import StudySession

    policy = policy_for(task_settings())
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with task_uow() as uow:
        idle = open_idle_sessions(uow.session, now - timedelta(seconds=policy.idle_timeout_s))
        for sid in idle:
            study = uow.session.get(StudySession, sid)
            assert study is not None
            study.status, study.ended_at = "ended", study.last_event_at or study.started_at
        waiting = verdicts_to_recheck(uow.session, now)
        for sid in sorted({*idle, *waiting}):
            uow.after_commit(lambda sid=sid: evaluate_session_task.delay(sid, now.isoformat()))
    return len({*idle, *waiting})


# Registers the callback hook in VERDICT_HOOKS wherever evaluation runs (API process or worker).
from proctor.workers import callback_tasks  # noqa: E402, F401
