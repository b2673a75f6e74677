"""Beat's daily job for the events table's monthly partitions (PostgreSQL; no-op on SQLite)."""

from __future__ import annotations

import logging
from typing import Any

from proctor.services import event_upkeep
from proctor.storage.db import engine_for, utcnow
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings

log = logging.getLogger(__name__)


@celery_app.task(name="proctor.events.partitions")
def maintain_event_partitions() -> dict[str, Any]:
    """Create the coming months' partitions; detach and drop those past the retention; rewrite
    settled months in session order (services/event_upkeep.py)."""
    settings = task_settings()
    done = event_upkeep.daily(engine_for(settings.database_url), today=utcnow().date(),
                              ahead_months=settings.events_partitions_ahead_months,
                              retention_months=settings.events_retention_months,
                              compact_after_days=settings.events_compact_after_days)
    m = done.maintenance
    out: dict[str, Any] = {"created": m.created, "detached": m.detached, "dropped": m.dropped}
    if done.compaction is not None:
        for name, why in done.compaction.skipped.items():
            log.warning("events partition %s not compacted: %s", name, why)
        out |= {"compacted": done.compaction.compacted,
                "compaction_skipped": done.compaction.skipped}
    return out
