"""The periodic work beat would do, run inside the API process on the embedded default.

Without a broker there is no `celery beat`: held verdicts (events in flight, open challenges),
idle sessions and callback retries would otherwise wait for the next request that touches them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from starlette.concurrency import run_in_threadpool

log = logging.getLogger("proctor.embedded_beat")


def beat_once(now: datetime) -> dict[str, int]:
    """One round: settle idle and held sessions, retry overdue callbacks, forget old webhook ids."""
    from proctor.workers.callback_tasks import sweep_callbacks
    from proctor.workers.reconcile_tasks import reconcile_task
    from proctor.workers.tasks import evaluate_idle_sessions, purge_webhook_receipts

    return {
        "sessions": evaluate_idle_sessions(now.isoformat()),
        "callbacks": sweep_callbacks(),
        "reconciled": sum(reconcile_task(now.isoformat()).values()),
        "receipts": purge_webhook_receipts(),
    }


@contextlib.asynccontextmanager
async def running(interval_s: float, clock: Callable[[], datetime]) -> AsyncIterator[None]:
    """Run `beat_once` every ``interval_s`` seconds until the app stops."""

    async def loop() -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await run_in_threadpool(beat_once, clock())
            except Exception:  # keep beating: one failed round must not stop the next
                log.exception("embedded beat round failed")

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
