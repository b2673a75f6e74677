"""Use cases: institutions and their keys, courses with ordered lessons, learners, enrolments."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from proctor.domain import classes as class_rules
from proctor.domain.county.person import person_hash
from proctor.domain.eligibility import EligibilityRules
from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.domain.ids import InvalidIdNumber, is_county_code, parse_resident_id
from proctor.domain.policy import Policy
from proctor.schemas.registry import CourseIn, EnrolmentIn, LearnerIn
from proctor.services import classes
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import (
    Course,
    Enrolment,
    Institution,
    Learner,
    Lesson,
    PlatformKey,
    StudySession,
)


@dataclass(frozen=True)
class IssuedKey:
    institution_id: int
    institution: str
    county_code: str
    key_id: str
    secret: str


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def issue_platform_key(uow: UnitOfWork, *, institution: str, county_code: str) -> IssuedKey:
    """Create the institution if new (its county must match) and give it a fresh key."""
    if not is_county_code(county_code):
        raise InvalidInput("county must be a 6-digit 行政区划代码 such as 410102", field="county")
    name = institution.strip()
    if not name:
        raise InvalidInput("institution name must not be blank", field="institution")
    inst = repo.institution_by_name(uow.session, name)
    if inst is None:
        inst = Institution(name=name, county_code=county_code)
        uow.session.add(inst)
        uow.session.flush()
    elif inst.county_code != county_code:
        raise Conflict(
            f"institution {name!r} is registered in county {inst.county_code}, not {county_code}",
            field="county",
        )
    key = PlatformKey(key_id="pk_" + secrets.token_hex(8), institution_id=inst.id, secret=new_secret())
    uow.session.add(key)
    uow.session.flush()
    return IssuedKey(inst.id, inst.name, inst.county_code, key.key_id, key.secret)


def upsert_course(uow: UnitOfWork, *, institution_id: int, ext_id: str, data: CourseIn,
                  elig: EligibilityRules) -> Course:
    """Create or update a course and its ordered lessons.

    Annex 3 (config/occupations.toml): an occupation not trained online is refused (422
    OCCUPATION_NOT_ONLINE), so is one needing offline practical training whose plan gives fewer
    than the hours it needs (422 PRACTICAL_HOURS_PLAN). A lesson that already has study
    sessions can be edited but not removed (409).
    """
    problems = class_rules.occupation_problems(data.occupation, data.offline_practical_hours, elig)
    if problems:
        raise InvalidInput(problems[0].message, field=problems[0].field, code=problems[0].code)
    s = uow.session
    course = repo.course(s, institution_id, ext_id)
    if course is None:
        course = Course(institution_id=institution_id, ext_id=ext_id, title=data.title,
                        occupation=data.occupation, required_class_hours=data.required_class_hours,
                        certificate_only=data.certificate_only,
                        offline_practical_hours=data.offline_practical_hours)
        s.add(course)
        s.flush()
        existing: dict[str, Lesson] = {}
    else:
        course.title, course.occupation = data.title, data.occupation
        course.required_class_hours = data.required_class_hours
        course.certificate_only = data.certificate_only
        course.offline_practical_hours = data.offline_practical_hours
        existing = {lesson.ext_id: lesson for lesson in repo.lessons_of(s, course.id)}
    wanted = {lesson.id for lesson in data.lessons}
    for gone in [lesson for key, lesson in existing.items() if key not in wanted]:
        if s.scalar(select(exists().where(StudySession.lesson_id == gone.id))):
            raise Conflict(f"lesson {gone.ext_id!r} has study sessions and cannot be removed",
                           field="lessons")
        s.delete(gone)
    # Move kept lessons out of the way first, so that re-ordering never collides on (course, seq).
    for i, lesson in enumerate(existing.values(), start=1):
        if lesson.ext_id in wanted:
            lesson.seq = -i
    s.flush()
    for item in data.lessons:
        row = existing.get(item.id)
        if row is None:
            row = Lesson(course_id=course.id, ext_id=item.id)
            s.add(row)
        row.seq, row.title = item.seq, item.title
        row.duration_s, row.class_hours = item.duration_s, item.class_hours
    s.flush()
    return course


def upsert_learner(uow: UnitOfWork, *, institution_id: int, ext_id: str, data: LearnerIn,
                   today: date, person_key: bytes | None = None) -> Learner:
    """Create or update a learner; with ``person_key`` the learner is linked to the person
    across institutions (learners.id_hash, see domain/county/person.py)."""
    try:
        resident = parse_resident_id(data.id_number, today=today)
    except InvalidIdNumber as exc:
        raise InvalidInput(f"id_number: {exc}", field="id_number") from None
    s = uow.session
    learner = repo.learner(s, institution_id, ext_id)
    if learner is None:
        learner = Learner(institution_id=institution_id, ext_id=ext_id)
        s.add(learner)
    elif learner.id_number != resident.number and s.scalar(
        select(exists().where(StudySession.learner_id == learner.id))
    ):
        # Changing who a learner is after they studied would re-attribute their study.
        raise Conflict("id_number cannot change once the learner has study sessions",
                       field="id_number")
    learner.real_name, learner.id_number, learner.phone = data.real_name, resident.number, data.phone
    if person_key:
        learner.id_hash = person_hash(resident.number, person_key)
    s.flush()
    return learner


def registered_learner_and_course(s: Session, *, institution_id: int, learner_ext: str,
                                  course_ext: str) -> tuple[Learner, Course]:
    """The institution's learner and course by the platform's ids, or 404 naming the missing one."""
    learner = repo.learner(s, institution_id, learner_ext)
    if learner is None:
        raise NotFound(f"learner {learner_ext!r} is not registered", field="learner_id")
    course = repo.course(s, institution_id, course_ext)
    if course is None:
        raise NotFound(f"course {course_ext!r} is not registered", field="course_id")
    return learner, course


def upsert_enrolment(uow: UnitOfWork, *, institution_id: int, learner_ext: str, course_ext: str,
                     data: EnrolmentIn, policy: Policy, elig: EligibilityRules, actor: str,
                     now: datetime,
                     new_class_check: Callable[[Learner, date], None] | None = None,
                     ) -> tuple[Enrolment, Learner, Course]:
    """Create or update an enrolment: the one enrol path (API, demo, simulation).

    The enrolment's class (班) opens with its first enrolment under the rules of an explicit
    opening (services/classes.py: size, satisfaction gate, annex 3, class hours); a new
    enrolment or a change of batch checks the course's rules against an existing class too.
    ``new_class_check`` (the county's one-month rule) runs when the enrolment is new or its
    class start moves, and raises to refuse it."""
    s = uow.session
    learner, course = registered_learner_and_course(s, institution_id=institution_id,
                                                    learner_ext=learner_ext, course_ext=course_ext)
    enrolment = repo.enrolment(s, learner.id, course.id)
    joining = enrolment is None or enrolment.class_batch != data.class_batch
    if new_class_check is not None and (enrolment is None
                                        or enrolment.start_date != data.start_date):
        new_class_check(learner, data.start_date)
    if enrolment is None:
        enrolment = Enrolment(learner_id=learner.id, course_id=course.id)
        s.add(enrolment)
    enrolment.class_batch, enrolment.start_date = data.class_batch, data.start_date
    enrolment.practical_hours, enrolment.last_exam_date = data.practical_hours, data.last_exam_date
    s.flush()
    classes.class_for_enrolment(uow, enrolment=enrolment, course=course, policy=policy,
                                elig=elig, actor=actor, now=now, joining=joining)
    return enrolment, learner, course
