"""The county's incremental jobs (services/county/checks.py): per ended session, per day."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.exc import OperationalError

from proctor.services import jobs
from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings, task_uow


@celery_app.task(name=jobs.COUNTY_CHECK_SESSION, autoretry_for=(OperationalError,),
                 retry_backoff=True, max_retries=5)
def county_check_session_task(session_id: str, now_iso: str | None = None) -> int:
    """Build the session's county fact and run the cross-institution rules around it."""
    from proctor.services.county.checks import check_session

    with task_uow() as uow:
        now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
        return check_session(uow, session_id=session_id, settings=task_settings(), now=now).opened


@celery_app.task(name=jobs.COUNTY_CHECK_DAYS)
def county_check_days_task(now_iso: str | None = None) -> int:
    """The day's and the previous day's facts (local days), all rules: the per-day job."""
    from proctor.services.county.checks import check_day
    from proctor.services.county.policy import county_policy_for

    settings = task_settings()
    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    p = county_policy_for(settings)
    today = (now + timedelta(seconds=p.local_offset_s())).date()
    opened = 0
    for day in (today - timedelta(days=1), today):
        with task_uow() as uow:
            opened += check_day(uow, day=day, settings=settings, now=now).opened
    return opened
