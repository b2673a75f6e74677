"""Use case: where a learner stands in a course: lesson statuses, class hours, exam eligibility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.eligibility import (
    CourseRequirement,
    Eligibility,
    EligibilityRules,
    LearnerRecord,
    LessonState,
    LessonStatus,
    assess_eligibility,
    load_eligibility_rules,
)
from proctor.domain.errors import NotFound
from proctor.domain.model import LessonResult, LessonVerdict, Status
from proctor.domain.policy import Policy
from proctor.services.evaluation import lesson_results
from proctor.services.registration import registered_learner_and_course
from proctor.storage.repositories import county as county_repo
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import Course, Enrolment, Learner, Lesson


@lru_cache(maxsize=4)
def _rules(eligibility_file: str, occupations_file: str) -> EligibilityRules:
    return load_eligibility_rules(Path(eligibility_file), Path(occupations_file))


def eligibility_rules(settings: Settings) -> EligibilityRules:
    return _rules(str(settings.eligibility_file), str(settings.occupations_file))


@dataclass(frozen=True)
class LessonStanding:
    lesson: Lesson
    result: LessonResult
    state: LessonState


@dataclass(frozen=True)
class Standing:
    learner: Learner
    course: Course
    enrolment: Enrolment
    lessons: list[LessonStanding]
    eligibility: Eligibility


def _state(result: LessonResult, studied: bool, under_review: bool) -> LessonState:
    if under_review:
        return LessonState.UNDER_REVIEW
    if result.status == LessonVerdict.VALID:
        return LessonState.VALID
    if result.status == LessonVerdict.INVALID:
        return LessonState.INVALID
    if result.status == LessonVerdict.PENDING:
        return LessonState.PENDING
    return LessonState.INCOMPLETE if studied else LessonState.NOT_STUDIED


def last_exam_on(s: Session, learner: Learner) -> date | None:
    """The learner's last offline exam in any course at any institution: the county's recorded
    exams (by person key) first; a platform's own `last_exam_date` can only make it later
    (stricter), never lift the rule."""
    typed = s.scalar(select(func.max(Enrolment.last_exam_date))
                     .join(Learner, Learner.id == Enrolment.learner_id)
                     .where(Learner.id_number == learner.id_number))
    recorded = county_repo.last_sat_exam_on(s, learner.id_hash) if learner.id_hash else None
    known = [d for d in (typed, recorded) if d is not None]
    return max(known) if known else None


def standing(s: Session, *, learner: Learner, course: Course, policy: Policy, settings: Settings,
             today: date) -> Standing:
    enrolment = reg_repo.enrolment(s, learner.id, course.id)
    if enrolment is None:
        raise NotFound(f"learner {learner.ext_id!r} is not enrolled in course {course.ext_id!r}",
                       field="course_id")
    lessons = reg_repo.lessons_of(s, course.id)
    results = lesson_results(s, learner_id=learner.id, course=course, lessons=lessons, policy=policy)
    sessions = ev_repo.sessions_of_learner(s, learner.id, course_id=course.id)
    verdicts = ev_repo.verdicts_for(s, [x.id for x in sessions])
    studied = {x.lesson_id for x in sessions}
    # A confirmed county case (services/county/cases.py) makes its sessions invalid.
    confirmed = county_repo.confirmed_session_ids(s, [x.id for x in sessions])
    voided = {x.lesson_id for x in sessions if x.id in confirmed}
    reviewing = {x.lesson_id for x in sessions
                 if verdicts.get(x.id) is not None and verdicts[x.id].status == Status.UNDER_REVIEW}
    rows = [LessonStanding(x, results[x.ext_id],
                           LessonState.INVALID if x.id in voided else
                           _state(results[x.ext_id], x.id in studied, x.id in reviewing))
            for x in lessons]
    record = LearnerRecord(
        course=CourseRequirement(course.ext_id, course.occupation, course.required_class_hours,
                                 course.certificate_only),
        lessons=tuple(LessonStatus(r.lesson.ext_id, r.lesson.seq, r.state, r.lesson.class_hours,
                                   r.lesson.title or "") for r in rows),
        class_start_on=enrolment.start_date, practical_hours=enrolment.practical_hours,
        last_exam_on=last_exam_on(s, learner))
    return Standing(learner, course, enrolment, rows,
                    assess_eligibility(record, eligibility_rules(settings), today=today))


def standing_by_ids(s: Session, *, institution_id: int, learner_ext: str, course_ext: str,
                    policy: Policy, settings: Settings, today: date) -> Standing:
    learner, course = registered_learner_and_course(s, institution_id=institution_id,
                                                    learner_ext=learner_ext, course_ext=course_ext)
    return standing(s, learner=learner, course=course, policy=policy, settings=settings, today=today)
