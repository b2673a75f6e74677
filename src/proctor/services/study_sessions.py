"""Use case: opening a study session (one learner, one lesson, one sitting)."""

from __future__ import annotations

import uuid
from datetime import datetime

from proctor.domain.errors import InvalidInput, NotFound
from proctor.domain.model import SessionState
from proctor.schemas.telemetry import SessionIn
from proctor.services.registration import registered_learner_and_course
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import Course, Learner, Lesson, StudySession


def open_session(uow: UnitOfWork, *, institution_id: int, data: SessionIn,
                 now: datetime) -> tuple[StudySession, Learner, Course, Lesson]:
    s = uow.session
    learner, course = registered_learner_and_course(s, institution_id=institution_id,
                                                    learner_ext=data.learner_id,
                                                    course_ext=data.course_id)
    lesson = next((x for x in repo.lessons_of(s, course.id) if x.ext_id == data.lesson_id), None)
    if lesson is None:
        raise NotFound(f"lesson {data.lesson_id!r} is not part of course {data.course_id!r}",
                       field="lesson_id")
    if repo.enrolment(s, learner.id, course.id) is None:
        raise InvalidInput(f"learner {data.learner_id!r} is not enrolled in course {data.course_id!r}",
                           field="course_id")
    study = StudySession(id=str(uuid.uuid4()), institution_id=institution_id, learner_id=learner.id,
                         course_id=course.id, lesson_id=lesson.id,
                         client=data.client.model_dump(exclude_none=True), status=SessionState.OPEN,
                         started_at=now)
    s.add(study)
    s.flush()
    return study, learner, course, lesson
