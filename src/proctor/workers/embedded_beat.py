"""The periodic work beat would do, run inside the API process on the embedded default.

Without a broker there is no `celery beat`: held verdicts (events in flight, open challenges),
idle sessions, callback retries and expired photos would otherwise wait for a request that
touches them. Every ``tick`` seconds each job of proctor.workers.schedule.PERIODIC whose interval
has passed (by the app's clock) runs here, with the app's settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from proctor.config import Settings
from proctor.workers.dispatch import run_inline
from proctor.workers.schedule import PERIODIC, Periodic, periodic

log = logging.getLogger("proctor.embedded_beat")


def due(now: datetime, last_run: dict[str, datetime],
        schedule: tuple[Periodic, ...] = PERIODIC) -> list[Periodic]:
    """The jobs never run yet or whose interval has passed since they last ran."""
    return [p for p in schedule
            if p.name not in last_run or (now - last_run[p.name]).total_seconds() >= p.every_s]


def beat_once(now: datetime, settings: Settings,
              last_run: dict[str, datetime] | None = None) -> dict[str, Any]:
    """One round: run the due jobs (all of them when ``last_run`` is None); their results by name.
    ``last_run`` is updated in place."""
    last_run = {} if last_run is None else last_run
    results: dict[str, Any] = {}
    for job in due(now, last_run, periodic(settings)):
        kwargs = {"now_iso": now.isoformat()} if job.takes_now else {}
        try:
            results[job.name] = run_inline(settings, job.task, **kwargs)
        except Exception:  # one failed job must not stop the others
            log.exception("embedded beat job %s failed", job.name)
        last_run[job.name] = now
    return results


@contextlib.asynccontextmanager
async def running(tick_s: float, clock: Callable[[], datetime],
                  settings: Settings) -> AsyncIterator[None]:
    """Run `beat_once` every ``tick_s`` seconds until the app stops."""
    last_run: dict[str, datetime] = {}

    async def loop() -> None:
        while True:
            await asyncio.sleep(tick_s)
            try:
                await run_in_threadpool(beat_once, clock(), settings, last_run)
            except Exception:  # keep beating: one failed round must not stop the next
                log.exception("embedded beat round failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
