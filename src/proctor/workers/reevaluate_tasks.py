"""Re-judging a course in parallel: one Celery task per chunk of learners, run as a group.

With a broker, the chunks go to the workers of the re-evaluation queue (``default`` unless
``PROCTOR_REEVALUATE_QUEUE`` says otherwise) and each reports its progress through the result
backend (state ``PROGRESS``, ``{"sessions": n}``); without one, they run in this process, one
after the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import group

from proctor.services.parallel_reevaluation import ChunkReport, chunked, judge_chunk
from proctor.services.policies import policy_for
from proctor.services.reevaluation import Group, plan
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.workers.celery_app import celery_app
from proctor.workers.dispatch import task_settings


@celery_app.task(name="proctor.reevaluate.chunk", bind=True, acks_late=True)
def reevaluate_chunk(self: Any, groups: list[list[int]], policy: str, now_iso: str) -> dict[str, Any]:
    """Judge one chunk of learner-course groups under ``policy``."""
    settings = task_settings()
    factory = session_factory(engine_for(settings.database_url))
    eager = bool(getattr(self.request, "is_eager", False))

    def progress(sessions: int) -> None:
        if not eager and self.request.id:
            self.update_state(state="PROGRESS", meta={"sessions": sessions})

    report = judge_chunk(factory, [(g[0], g[1], g[2]) for g in groups],
                         policy=policy_for(settings, policy), now=datetime.fromisoformat(now_iso),
                         settings=settings, progress=progress)
    return report.to_dict()


def reevaluate_parallel(*, course_ext: str, institution: str | None, policy: str,
                        now: datetime, chunk_learners: int = 20,
                        progress: Callable[[int, int], None] | None = None,
                        poll_s: float = 0.5) -> ChunkReport:
    """Fan the course out as chunks over the workers; ``progress(sessions done, total)`` as the
    chunks report it. Eager (no broker): the chunks run here, in order."""
    settings = task_settings()
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        groups: list[Group] = plan(uow.session, course_ext=course_ext, institution=institution)
    total = sum(n for _, _, n in groups)
    chunks = chunked(groups, size=chunk_learners)
    if progress is not None:
        progress(0, total)
    if celery_app.conf.task_always_eager:
        parts = []
        done = 0
        for chunk in chunks:
            parts.append(reevaluate_chunk.apply(args=([list(g) for g in chunk], policy,
                                                      now.isoformat())).get())
            done += parts[-1]["sessions"]
            if progress is not None:
                progress(done, total)
        return ChunkReport.merged(parts)
    queue = settings.reevaluate_queue
    job = group(reevaluate_chunk.s([list(g) for g in chunk], policy, now.isoformat()).set(queue=queue)
                for chunk in chunks).apply_async()
    sizes = [sum(n for _, _, n in chunk) for chunk in chunks]
    while not job.ready():
        if progress is not None:
            progress(_sessions_done(job.results, sizes), total)
        time.sleep(poll_s)
    parts = job.get(disable_sync_subtasks=False)
    if progress is not None:
        progress(total, total)
    return ChunkReport.merged(parts)


def _sessions_done(results: list[Any], sizes: list[int]) -> int:
    done = 0
    for result, size in zip(results, sizes, strict=True):
        state = result.state
        if state == "SUCCESS":
            done += size
        elif state == "PROGRESS" and isinstance(result.info, dict):
            done += int(result.info.get("sessions", 0))
    return done
