"""Scheduled paperwork (docs/paperwork.md): the county reports of each finished period."""

from __future__ import annotations

from datetime import datetime

from proctor.storage.db import utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings, task_uow


@celery_app.task(name="proctor.reports.generate_due")
def generate_due_reports_task(now_iso: str | None = None) -> int:
    """Every county's last month, quarter and year, once each (hourly on beat)."""
    from proctor.services import reports
    from proctor.services.policies import policy_for

    now = datetime.fromisoformat(now_iso) if now_iso else utcnow()
    with task_uow() as uow:
        return len(reports.generate_due(uow, policy=policy_for(task_settings()), now=now))
