"""Beat's daily job for the events table's monthly partitions (PostgreSQL; no-op on SQLite)."""

from __future__ import annotations

import logging
from typing import Any

from proctor.storage import compaction, partitions
from proctor.storage.db import engine_for, utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings

log = logging.getLogger(__name__)


@celery_app.task(name="proctor.events.partitions")
def maintain_event_partitions() -> dict[str, Any]:
    """Create the coming months' partitions; detach and drop those past the retention; rewrite
    settled months in session order (storage/compaction.py)."""
    settings = task_settings()
    engine, today = engine_for(settings.database_url), utcnow().date()
    with engine.begin() as conn:
        done = partitions.maintain(conn, today=today,
                                   ahead_months=settings.events_partitions_ahead_months,
                                   retention_months=settings.events_retention_months)
    out: dict[str, Any] = {"created": done.created, "detached": done.detached,
                           "dropped": done.dropped}
    if settings.events_compact_after_days is not None:
        packed = compaction.compact_settled(engine, today=today,
                                            after_days=settings.events_compact_after_days)
        for name, why in packed.skipped.items():
            log.warning("events partition %s not compacted: %s", name, why)
        out |= {"compacted": packed.compacted, "compaction_skipped": packed.skipped}
    return out
