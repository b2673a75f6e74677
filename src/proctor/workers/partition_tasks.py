"""Beat's daily job for the events table's monthly partitions (PostgreSQL; no-op on SQLite)."""

from __future__ import annotations

from proctor.storage import partitions
from proctor.storage.db import engine_for, utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings


@celery_app.task(name="proctor.events.partitions")
def maintain_event_partitions() -> dict[str, list[str]]:
    """Create the coming months' partitions; detach and drop those past the retention."""
    settings = task_settings()
    with engine_for(settings.database_url).begin() as conn:
        done = partitions.maintain(conn, today=utcnow().date(),
                                   ahead_months=settings.events_partitions_ahead_months,
                                   retention_months=settings.events_retention_months)
    return {"created": done.created, "detached": done.detached, "dropped": done.dropped}
