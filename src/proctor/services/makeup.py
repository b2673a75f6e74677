"""Use case: a leave (请假) recorded for a lesson, so that the learner may study it again (补学).

With the policy's ``makeup = "after_leave"`` an invalid sitting begun before the leave no longer
taints its lesson (domain/makeup.py); the sitting and its verdict stay as evidence, and the
lesson's standing lists it under ``superseded``. The leave is in the audit log, and the platform
is owed an eligibility callback if the learner's eligibility flipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.errors import InvalidInput, NotFound
from proctor.domain.policy import Policy
from proctor.services import audit_log, callbacks
from proctor.services.registration import registered_learner_and_course
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import Institution, Leave, Lesson

MAX_REASON = 2000


def record_leave(uow: UnitOfWork, *, institution_id: int, learner_ext: str, course_ext: str,
                 lesson_ext: str, reason: str, actor: str, settings: Settings, policy: Policy,
                 now: datetime) -> tuple[Leave, Lesson]:
    s = uow.session
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a leave needs its reason (请假事由)", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"reason is longer than {MAX_REASON} characters", field="reason")
    learner, course = registered_learner_and_course(s, institution_id=institution_id,
                                                    learner_ext=learner_ext, course_ext=course_ext)
    if reg_repo.enrolment(s, learner.id, course.id) is None:
        raise NotFound(f"learner {learner_ext!r} is not enrolled in course {course_ext!r}",
                       field="course_id")
    lesson = next((x for x in reg_repo.lessons_of(s, course.id) if x.ext_id == lesson_ext), None)
    if lesson is None:
        raise NotFound(f"lesson {lesson_ext!r} is not in course {course_ext!r}", field="lesson_id")
    leave = Leave(institution_id=institution_id, learner_id=learner.id, course_id=course.id,
                  lesson_id=lesson.id, reason=reason, recorded_by=actor, recorded_at=now)
    s.add(leave)
    s.flush()
    audit_log.append(uow, actor=actor, action="leave.recorded",
                     subject=f"enrolment:{learner.id}/{course.id}", at=now,
                     payload={"leave_id": leave.id, "lesson": lesson.ext_id, "reason": reason,
                              "makeup": policy.makeup})
    inst = s.get(Institution, institution_id)
    assert inst is not None
    callbacks.eligibility_changed(uow, inst=inst, learner=learner, course=course,
                                  settings=settings, policy=policy, now=now)
    return leave, lesson


def leaves_of(s: Session, *, learner_id: int, course_id: int) -> list[Leave]:
    return list(s.scalars(select(Leave).where(Leave.learner_id == learner_id,
                                              Leave.course_id == course_id)
                          .order_by(Leave.recorded_at, Leave.id)))
