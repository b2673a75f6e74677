"""Use case: where a learner stands in a course: lesson statuses, class hours, exam eligibility."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

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
from proctor.services.evidence_reads import CohortReads
from proctor.services.registration import registered_learner_and_course
from proctor.storage.repositories import county as county_repo
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
    return last_exams_on(s, [learner]).get(learner.id)


def last_exams_on(s: Session, learners: Sequence[Learner]) -> dict[int, date | None]:
    """`last_exam_on` of many learners in two grouped queries."""
    typed = county_repo.last_typed_exams(s, list({x.id_number for x in learners}))
    recorded = county_repo.last_sat_exams(s, list({x.id_hash for x in learners if x.id_hash}))
    out: dict[int, date | None] = {}
    for x in learners:
        known = [d for d in (typed.get(x.id_number), recorded.get(x.id_hash or "")) if d]
        out[x.id] = max(known) if known else None
    return out


def standing(s: Session, *, learner: Learner, course: Course, policy: Policy, settings: Settings,
             today: date) -> Standing:
    enrolment = reg_repo.enrolment(s, learner.id, course.id)
    if enrolment is None:
        raise NotFound(f"learner {learner.ext_id!r} is not enrolled in course {course.ext_id!r}",
                       field="course_id")
    # one learner's verdicts are read whole (a few rows): the reference the summaries of
    # `standings` are tested against
    return standings(s, course=course, learners=[(learner, enrolment)], policy=policy,
                     settings=settings, today=today, summaries=False)[0]


def standings(s: Session, *, course: Course, learners: Sequence[tuple[Learner, Enrolment]],
              policy: Policy, settings: Settings, today: date,
              summaries: bool = True) -> list[Standing]:
    """Where each of these enrolled learners stands in the course, read together: a handful of
    queries for the lot (sessions, verdicts, leaves, county cases, exams), not ten per learner.
    The judging itself is the domain's, learner by learner. ``summaries``: the verdicts are
    read without their violations' details (`CohortReads`): the same standings."""
    if not learners:
        return []
    lessons = reg_repo.lessons_of(s, course.id)
    reads = CohortReads(s, learner_ids=[x.id for x, _ in learners], course_id=course.id,
                        summaries=summaries)
    every = [x for learner, _ in learners for x in reads.sessions_of_learner(learner.id, course.id)]
    verdicts = reads.verdicts([x.id for x in every])
    # A confirmed county case (services/county/cases.py) makes its sessions invalid.
    confirmed = county_repo.confirmed_session_ids(s, [x.id for x in every])
    exams = last_exams_on(s, [x for x, _ in learners])
    rules = eligibility_rules(settings)
    out = []
    for learner, enrolment in learners:
        sessions = reads.sessions_of_learner(learner.id, course.id)
        results = lesson_results(s, learner_id=learner.id, course=course, lessons=lessons,
                                 policy=policy, reads=reads)
        studied = {x.lesson_id for x in sessions}
        voided = {x.lesson_id for x in sessions if x.id in confirmed}
        reviewing = {x.lesson_id for x in sessions if verdicts.get(x.id) is not None
                     and verdicts[x.id].status == Status.UNDER_REVIEW}
        rows = [LessonStanding(x, results[x.ext_id],
                               LessonState.INVALID if x.id in voided else
                               _state(results[x.ext_id], x.id in studied, x.id in reviewing))
                for x in lessons]
        record = LearnerRecord(
            course=CourseRequirement(course.ext_id, course.occupation,
                                     course.required_class_hours, course.certificate_only),
            lessons=tuple(LessonStatus(r.lesson.ext_id, r.lesson.seq, r.state,
                                       r.lesson.class_hours, r.lesson.title or "") for r in rows),
            class_start_on=enrolment.start_date, practical_hours=enrolment.practical_hours,
            last_exam_on=exams[learner.id])
        out.append(Standing(learner, course, enrolment, rows,
                            assess_eligibility(record, rules, today=today)))
    return out


def standing_by_ids(s: Session, *, institution_id: int, learner_ext: str, course_ext: str,
                    policy: Policy, settings: Settings, today: date) -> Standing:
    learner, course = registered_learner_and_course(s, institution_id=institution_id,
                                                    learner_ext=learner_ext, course_ext=course_ext)
    return standing(s, learner=learner, course=course, policy=policy, settings=settings, today=today)
