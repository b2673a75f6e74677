"""Exams (结业考核) recorded by the county, and the one-month rule read from them.

The assessment body records who sat which exam when, with the result (API with an assessor key,
or the portal form for county reviewers). The one-month rule and the "last exam" of eligibility
are computed from these records across every institution (domain/county/exams.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.county.exams import (
    RESULTS,
    ExamFact,
    exam_month_problem,
    new_class_refusal,
)
from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.domain.ids import InvalidIdNumber, is_county_code, parse_resident_id
from proctor.services.county.keys import hash_id_number
from proctor.services.registration import new_secret
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import county as repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import AssessorKey, CountyExam, Institution, Learner


@dataclass(frozen=True)
class IssuedAssessorKey:
    key_id: str
    secret: str
    name: str
    county_code: str


def issue_assessor_key(uow: UnitOfWork, *, name: str, county_code: str) -> IssuedAssessorKey:
    if not is_county_code(county_code):
        raise InvalidInput("county must be a 6-digit 行政区划代码 such as 410102", field="county")
    if not name.strip():
        raise InvalidInput("assessment body name must not be blank", field="name")
    key = AssessorKey(key_id="ak_" + secrets.token_hex(8), name=name.strip(),
                      county_code=county_code, secret=new_secret())
    uow.session.add(key)
    uow.session.flush()
    return IssuedAssessorKey(key.key_id, key.secret, key.name, key.county_code)


def active_assessor_key(s: Session, key_id: str) -> AssessorKey | None:
    key = s.get(AssessorKey, key_id)
    return key if key is not None and key.revoked_at is None else None


@dataclass(frozen=True)
class ExamInput:
    id_number: str
    institution: str  # the training institution's registered name
    course_id: str  # the institution's course id (CONTRACT §2)
    exam_on: date
    result: str
    score: float | None = None


def record_exam(uow: UnitOfWork, *, data: ExamInput, county_codes: tuple[str, ...] | None,
                recorded_by: str, exam_months: tuple[int, ...], settings: Settings,
                today: date, now: datetime) -> tuple[CountyExam, bool]:
    """Record (or correct) one sitting; (the exam, created). ``county_codes`` None = any county.

    Refused with 422 naming the field when the exam falls outside the exam months, lies in the
    future, or the result is unknown; 404 when the institution (in the caller's counties), the
    course or the person at that institution is not registered.
    """
    s = uow.session
    try:
        resident = parse_resident_id(data.id_number, today=today)
    except InvalidIdNumber as exc:
        raise InvalidInput(f"id_number: {exc}", field="id_number") from None
    if data.result not in RESULTS:
        raise InvalidInput(f"result must be one of {', '.join(RESULTS)}", field="result")
    problem = exam_month_problem(data.exam_on, exam_months)
    if problem:
        raise InvalidInput(problem, field="exam_on")
    if data.exam_on > today:
        raise InvalidInput(f"exam_on {data.exam_on.isoformat()} is in the future", field="exam_on")
    if data.score is not None and not 0 <= data.score <= 100:
        raise InvalidInput("score must be within 0..100", field="score")
    inst = reg_repo.institution_by_name(s, data.institution.strip())
    if inst is None or (county_codes is not None and inst.county_code not in county_codes):
        raise NotFound(f"institution {data.institution!r} is not registered in your county",
                       field="institution")
    course = reg_repo.course(s, inst.id, data.course_id)
    if course is None:
        raise NotFound(f"course {data.course_id!r} is not registered by {inst.name}",
                       field="course_id")
    person = hash_id_number(resident.number, settings)
    learner = s.scalar(select(Learner).where(Learner.institution_id == inst.id,
                                             Learner.id_hash == person))
    if learner is None:
        raise NotFound(f"no learner with this ID number is registered by {inst.name}",
                       field="id_number")
    enrolment = reg_repo.enrolment(s, learner.id, course.id)
    if enrolment is None:
        raise NotFound(f"the learner is not enrolled in course {data.course_id!r}",
                       field="course_id")
    if data.exam_on < enrolment.start_date:
        raise InvalidInput(f"exam_on {data.exam_on.isoformat()} is before the class started "
                           f"({enrolment.start_date.isoformat()})", field="exam_on")
    row = repo.exam(s, learner.id, course.id, data.exam_on)
    created = row is None
    if row is None:
        row = CountyExam(person=person, learner_id=learner.id, institution_id=inst.id,
                         course_id=course.id, exam_on=data.exam_on)
        s.add(row)
    row.class_batch, row.occupation = enrolment.class_batch, course.occupation
    row.result, row.score, row.recorded_by, row.recorded_at = (data.result, data.score,
                                                               recorded_by, now)
    s.flush()
    return row, created


def exam_facts(s: Session, person: str) -> list[ExamFact]:
    return [ExamFact(e.exam_on, e.result, e.institution_id) for e in repo.exams_of_person(s, person)]


def check_new_class(s: Session, *, person: str, class_start_on: date, cooldown_months: int
                    ) -> None:
    """409 "not eligible, because …" when a new subsidised class breaks the one-month rule."""
    reason = new_class_refusal(exam_facts(s, person), class_start_on=class_start_on,
                               cooldown_months=cooldown_months)
    if reason is not None:
        raise Conflict(f"{reason.message_zh} ({reason.message_en}) [{reason.code}]",
                       field="start_date", code="not_eligible")


def institutions_named(s: Session, county_codes: tuple[str, ...] | None) -> list[Institution]:
    stmt = select(Institution).order_by(Institution.name)
    if county_codes is not None:
        stmt = stmt.where(Institution.county_code.in_(county_codes or ("-",)))
    return list(s.scalars(stmt))
