"""Use case: judging a course again in parallel, learner by learner, over Celery's workers.

A learner's sessions in one course depend on each other (LESSON_ORDER reads the earlier
lessons' fresh verdicts), so the unit of work is one learner-course, judged oldest first as
`services.reevaluation` does; different learners are independent, so they are cut into chunks
that the workers judge at once (a Celery group of chunk tasks, workers/reevaluate_tasks.py).
Each chunk reports its progress (sessions done) so the command's bar can read it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from proctor.config import Settings
from proctor.domain.model import FINAL_STATUSES
from proctor.domain.policy import Policy
from proctor.services import verdict_flow
from proctor.services.evaluation import evaluate_course
from proctor.services.reevaluation import Group
from proctor.storage.db import unit_of_work


@dataclass
class ChunkReport:
    learners: int = 0
    sessions: int = 0
    changed: int = 0
    reviewed_kept: int = 0
    transitions: Counter[str] = field(default_factory=Counter)  # "before->after"

    def to_dict(self) -> dict[str, Any]:
        return {"learners": self.learners, "sessions": self.sessions, "changed": self.changed,
                "reviewed_kept": self.reviewed_kept, "transitions": dict(self.transitions)}

    @classmethod
    def merged(cls, parts: Sequence[dict[str, Any]]) -> ChunkReport:
        out = cls()
        for p in parts:
            out.learners += p["learners"]
            out.sessions += p["sessions"]
            out.changed += p["changed"]
            out.reviewed_kept += p["reviewed_kept"]
            out.transitions.update(p["transitions"])
        return out


def chunked(groups: Sequence[Group], *, size: int) -> list[list[Group]]:
    return [list(groups[i:i + size]) for i in range(0, len(groups), max(1, size))]


def judge_chunk(factory: sessionmaker[Session], groups: Sequence[Group], *, policy: Policy,
                now: datetime, settings: Settings | None = None,
                progress: Callable[[int], None] | None = None) -> ChunkReport:
    """Judge each learner-course of the chunk in its own unit of work; ``progress(sessions)``
    after each. ``settings``: run the verdict flow after each verdict (as
    ``services.reevaluation`` does: callbacks, audit, overlap partners)."""
    report = ChunkReport()
    for learner_id, course_id, _n in groups:
        with unit_of_work(factory) as uow:
            held: list[object] = []  # the evidence read, kept for the verdict flow below
            for done in evaluate_course(uow, learner_id=learner_id, course_id=course_id,
                                        policy=policy, now=now, hold=held):
                report.sessions += 1
                if settings is not None:
                    verdict_flow.after_evaluation(uow, done, settings=settings, policy=policy,
                                                  now=now, batch=True)
                if done.changed:
                    report.changed += 1
                    report.transitions[f"{done.previous_status or 'none'}->{done.status}"] += 1
                elif done.status != done.verdict.status and done.status in FINAL_STATUSES:
                    report.reviewed_kept += 1
        report.learners += 1
        if progress is not None:
            progress(report.sessions)
    return report
