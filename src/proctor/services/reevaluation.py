"""Use case: judging a course's stored sessions again, e.g. under a new policy version.

Sessions are judged per learner and course (one unit of work each, the evidence read in a few
queries), oldest first, so that LESSON_ORDER of a later lesson reads the earlier lessons' fresh
verdicts. A reviewed verdict keeps the status the reviewer gave
it (its engine status, policy and evidence are refreshed). Given ``settings``, what follows each
verdict is decided by services.verdict_flow as after any evaluation (callbacks, audit, overlap
partners, rechecks; later lessons are judged in the same run anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from proctor.config import Settings
from proctor.domain.errors import NotFound
from proctor.domain.model import FINAL_STATUSES
from proctor.domain.policy import Policy
from proctor.services import verdict_flow
from proctor.services.evaluation import Evaluated, evaluate_course
from proctor.storage.db import UnitOfWork, unit_of_work
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import Course, StudySession


@dataclass
class Reevaluated:
    sessions: int = 0
    changed: int = 0
    transitions: Counter[tuple[str | None, str]] = field(default_factory=Counter)
    reviewed_kept: int = 0  # reviewed verdicts whose engine status now differs from the review


def course_ids(s: Session, *, course_ext: str, institution: str | None = None) -> list[int]:
    """The stored courses ``course_ext`` names (of one institution, or of every institution
    that has a course with that id); NotFound when there are none."""
    stmt = select(Course.id).where(Course.ext_id == course_ext)
    if institution is not None:
        inst = reg_repo.institution_by_name(s, institution)
        if inst is None:
            raise NotFound(f"no institution named {institution!r}", field="institution")
        stmt = stmt.where(Course.institution_id == inst.id)
    found = list(s.scalars(stmt))
    if not found:
        raise NotFound(f"no course {course_ext!r}" + (f" at {institution!r}" if institution else ""),
                       field="course")
    return found


# (learner id, course id, sessions): one unit of work
Group = tuple[int, int, int]


def plan(s: Session, *, course_ext: str, institution: str | None = None) -> list[Group]:
    """The course's learner-course groups (``course_ids``) with their session counts, in a
    stable order: one grouped query (the sessions' ids in ``IN`` lists of 5,000 cost ~0.5 s
    of query building per 1,000 learners)."""
    courses = course_ids(s, course_ext=course_ext, institution=institution)
    rows = s.execute(select(StudySession.learner_id, StudySession.course_id, func.count())
                     .where(StudySession.course_id.in_(courses))
                     .group_by(StudySession.learner_id, StudySession.course_id))
    return sorted((learner_id, course_id, n) for learner_id, course_id, n in rows)


def reevaluate_course(factory: sessionmaker[Session], *, course_ext: str, institution: str | None,
                      policy: Policy, now: datetime, settings: Settings | None = None,
                      hooks: list[Callable[[UnitOfWork, Evaluated], None]] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Reevaluated:
    """Judge every stored session of the course again under ``policy``; ``progress(done, total)``
    after each. ``settings``: run the verdict flow after each verdict (callbacks are owed, …);
    ``hooks``: extra calls for each changed verdict."""
    with unit_of_work(factory) as uow:
        groups = plan(uow.session, course_ext=course_ext, institution=institution)
    total = sum(n for _, _, n in groups)
    report = Reevaluated()
    done_n = 0
    # one learner-course at a time, its evidence read at once, its sessions judged oldest first
    for learner_id, course_id, sessions in groups:
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
                    report.transitions[(done.previous_status, done.status)] += 1
                    for hook in hooks or []:
                        hook(uow, done)
                elif done.status != done.verdict.status and done.status in FINAL_STATUSES:
                    report.reviewed_kept += 1
        done_n += sessions
        if progress is not None:
            progress(done_n, total)
    return report
