"""The one list of periodic jobs. It feeds Celery beat (with a broker) and the embedded beat
(the API process, without one); tests/workers/test_schedule.py checks both read it.

To add a periodic job: register its task under a name in proctor.services.jobs and add one
line here. ``takes_now``: the task accepts ``now_iso`` (the embedded beat passes the app's clock,
which the simulator runs in simulated time; Celery beat passes nothing: real now).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from proctor.services import jobs

if TYPE_CHECKING:
    from proctor.config import Settings


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    every_s: float
    takes_now: bool = True


PERIODIC: tuple[Periodic, ...] = (
    # close idle sessions, judge held verdicts whose wait is over (events in flight, challenges)
    Periodic("evaluate-idle-sessions", jobs.EVALUATE_IDLE_SESSIONS, 60.0),
    # retry callbacks whose retry is overdue (always so in-process; lost retries with a broker)
    Periodic("sweep-callbacks", jobs.SWEEP_CALLBACKS, 60.0),
    # forget webhook-ids the timestamp check refuses anyway (kept by the real clock)
    Periodic("purge-webhook-receipts", jobs.PURGE_RECEIPTS, 600.0, takes_now=False),
    # delete photo files past settings.photo_retention_days (the records are kept)
    Periodic("purge-old-photos", jobs.PURGE_PHOTOS, 86400.0),
    # the county's cross-institution checks over the days since the last run (docs/county.md)
    Periodic("county-check-days", jobs.COUNTY_CHECK_DAYS, 3600.0),
    # PostgreSQL: create the events table's partitions ahead, detach those past retention
    Periodic("event-partitions", jobs.EVENT_PARTITIONS, 86400.0, takes_now=False),
    # the county's monthly / quarterly / annual reports once their period has closed
    Periodic("reports-generate-due", jobs.GENERATE_DUE_REPORTS, 3600.0),
    # re-enqueue what the broker lost: ended sessions without a current verdict, photos still
    # pending past their grace (services.reconcile); its interval is settings.reconcile_every_s
    Periodic("reconcile", jobs.RECONCILE, 120.0),
)
# jobs whose interval a setting overrides
INTERVAL_SETTINGS = {"reconcile": "reconcile_every_s"}


def periodic(settings: Settings | None = None) -> tuple[Periodic, ...]:
    """PERIODIC with the intervals the settings override."""
    if settings is None:
        return PERIODIC
    return tuple(replace(p, every_s=float(getattr(settings, INTERVAL_SETTINGS[p.name])))
                 if p.name in INTERVAL_SETTINGS else p for p in PERIODIC)


def celery_beat_schedule(settings: Settings | None = None) -> dict[str, dict[str, Any]]:
    """PERIODIC (as the settings have it) as Celery's beat_schedule."""
    return {p.name: {"task": p.task, "schedule": p.every_s} for p in periodic(settings)}
