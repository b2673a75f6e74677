"""Use cases: classes (班) opening under the plan's rules, the satisfaction survey and its gate.

A class is an institution's course batch (开班批次). It opens explicitly (PUT /v1/classes/…) or
with its first enrolment, under the same rules either way. Opening is refused while the
institution is in a rectification period (409 SATISFACTION_RECTIFICATION); a class over the size
limit or a course breaking the class-hour or annex-3 rules is refused with a 422 naming the rule
(domain/classes.py).

Survey answers are stored per class under a keyed hash of the learner (one answer per learner,
replaced when re-sent): the institution sees rates, never who answered what. When a class's rate
falls below the policy's ``satisfaction_min_rate`` the institution enters a rectification period
of ``rectification_months``, which the county sees in the portal and may end early.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain import classes as rules
from proctor.domain.eligibility import EligibilityRules, add_months
from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.domain.policy import Policy
from proctor.schemas.paperwork import SurveyAnswerIn
from proctor.services import audit_log
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import (
    Course,
    Enrolment,
    Institution,
    Learner,
    Rectification,
    SurveyResponse,
    TrainingClass,
)


def _raise(problems: list[rules.Problem]) -> None:
    if problems:
        first = problems[0]
        raise InvalidInput("; ".join(p.message for p in problems), field=first.field,
                           code=first.code)


def active_rectification(s: Session, institution_id: int, today: date) -> Rectification | None:
    return s.scalar(select(Rectification)
                    .where(Rectification.institution_id == institution_id,
                           Rectification.ended_at.is_(None), Rectification.ends_on > today)
                    .order_by(Rectification.started_at.desc()).limit(1))


def _gate(s: Session, institution_id: int, policy: Policy, today: date) -> None:
    r = active_rectification(s, institution_id, today)
    if r is not None:
        raise Conflict(
            f"{rules.SATISFACTION_RECTIFICATION}: satisfaction {r.rate:.0%} fell below "
            f"{policy.satisfaction_min_rate:.0%} (满意度低于{policy.satisfaction_min_rate:.0%}"
            f"的停止培训开班); no new class until the rectification period ends on "
            f"{r.ends_on.isoformat()}", field="class_batch", code=rules.SATISFACTION_RECTIFICATION)


def enrolled(s: Session, course_id: int, batch: str) -> int:
    return int(s.scalar(select(func.count()).select_from(Enrolment)
                        .where(Enrolment.course_id == course_id,
                               Enrolment.class_batch == batch)) or 0)


def class_of(s: Session, course_id: int, batch: str) -> TrainingClass | None:
    return s.scalar(select(TrainingClass).where(TrainingClass.course_id == course_id,
                                                TrainingClass.batch == batch))


def course_rules(s: Session, course: Course, policy: Policy, elig: EligibilityRules) -> None:
    """The course's rules for opening a class or enrolling in one (422 naming the first broken):
    annex 3 (OCCUPATION_NOT_ONLINE, PRACTICAL_HOURS_PLAN), CLASS_HOUR_SHORT,
    CERTIFICATE_ONLY_HOURS."""
    _raise(rules.occupation_problems(course.occupation, course.offline_practical_hours, elig))
    lessons = reg_repo.lessons_of(s, course.id)
    _raise(rules.course_problems(
        lessons=[(x.ext_id, x.duration_s, x.class_hours) for x in lessons],
        required_class_hours=course.required_class_hours, certificate_only=course.certificate_only,
        class_hour_s=policy.class_hour_s,
        certificate_min_hours=float(elig.certificate_only_min_class_hours)))


def open_class(uow: UnitOfWork, *, institution_id: int, course_ext: str, batch: str,
               opens_on: date, size: int, policy: Policy, elig: EligibilityRules,
               actor: str, now: datetime) -> TrainingClass:
    """Open (or update) a class: size, and for a new class the satisfaction gate and the
    course's rules (``course_rules``), whether it is opened explicitly or by its first
    enrolment (``class_for_enrolment``)."""
    s = uow.session
    course = reg_repo.course(s, institution_id, course_ext)
    if course is None:
        raise NotFound(f"course {course_ext!r} is not registered", field="course_id")
    _raise(rules.size_problems(size, policy.max_class_size))
    cls = class_of(s, course.id, batch)
    if cls is None:
        _gate(s, institution_id, policy, now.date())
        course_rules(s, course, policy, elig)
        cls = TrainingClass(institution_id=institution_id, course_id=course.id, batch=batch,
                            opens_on=opens_on, size=size, created_at=now)
        s.add(cls)
        s.flush()
        audit_log.append(uow, actor=actor, action="class.opened", subject=f"class:{cls.id}",
                         at=now, payload={"course": course_ext, "batch": batch, "size": size,
                                          "opens_on": opens_on.isoformat()})
    else:
        count = enrolled(s, course.id, batch)
        if size < count:
            raise InvalidInput(f"the class already has {count} enrolments, more than {size}",
                               field="size", code=rules.CLASS_SIZE)
        cls.opens_on, cls.size = opens_on, size
    s.flush()
    return cls


def class_for_enrolment(uow: UnitOfWork, *, enrolment: Enrolment, course: Course,
                        policy: Policy, elig: EligibilityRules, actor: str,
                        now: datetime, joining: bool) -> TrainingClass:
    """The enrolment's class, opened with it if new under the same rules as an explicit
    opening; its size stays within the rule. ``joining`` (a new enrolment or a change of
    batch) checks the course's rules against an existing class too, so no enrolment joins a
    course that breaks them (say, one edited after its class opened)."""
    s = uow.session
    s.flush()
    cls = class_of(s, course.id, enrolment.class_batch)
    count = enrolled(s, course.id, enrolment.class_batch)
    _raise(rules.size_problems(count, policy.max_class_size))
    if cls is None:
        cls = open_class(uow, institution_id=course.institution_id, course_ext=course.ext_id,
                         batch=enrolment.class_batch, opens_on=enrolment.start_date,
                         size=count, policy=policy, elig=elig, actor=actor, now=now)
    else:
        if joining:
            course_rules(s, course, policy, elig)
        if count > cls.size:
            cls.size = count
    return cls


# --- the survey ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Satisfaction:
    cls: TrainingClass
    responses: int
    satisfied: int
    institution_responses: int
    institution_satisfied: int
    rectification: Rectification | None

    @property
    def rate(self) -> float | None:
        return rules.satisfaction_rate(self.satisfied, self.responses)

    @property
    def institution_rate(self) -> float | None:
        return rules.satisfaction_rate(self.institution_satisfied, self.institution_responses)


def _respondent(settings: Settings, cls: TrainingClass, learner: Learner) -> str:
    """A keyed hash of the learner within the class: one answer each, nobody can tell whose."""
    from cryptography.hazmat.primitives import serialization

    from proctor.services.archive import signing_key

    key = settings.secret_key.encode() if settings.secret_key else signing_key(settings).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return hmac.new(key, f"survey:{cls.id}:{learner.id}".encode(), hashlib.sha256).hexdigest()


def _counts(s: Session, *where: ColumnElement[bool]) -> tuple[int, int]:
    yes_case = case((SurveyResponse.satisfied.is_(True), 1), else_=0)
    total, yes = s.execute(select(func.count(SurveyResponse.id), func.sum(yes_case))
                           .join(TrainingClass, TrainingClass.id == SurveyResponse.class_id)
                           .where(*where)).one()
    return int(total or 0), int(yes or 0)


def satisfaction(s: Session, cls: TrainingClass, today: date) -> Satisfaction:
    n, yes = _counts(s, SurveyResponse.class_id == cls.id)
    n_inst, yes_inst = _counts(s, TrainingClass.institution_id == cls.institution_id)
    return Satisfaction(cls, n, yes, n_inst, yes_inst,
                        active_rectification(s, cls.institution_id, today))


def get_class(s: Session, *, institution_id: int, course_ext: str, batch: str) -> TrainingClass:
    course = reg_repo.course(s, institution_id, course_ext)
    cls = class_of(s, course.id, batch) if course is not None else None
    if cls is None:
        raise NotFound(f"class {batch!r} of course {course_ext!r} is not open", field="class_batch")
    return cls


def submit_answers(uow: UnitOfWork, *, institution_id: int, course_ext: str, batch: str,
                   answers: list[SurveyAnswerIn], settings: Settings, policy: Policy,
                   now: datetime) -> Satisfaction:
    s = uow.session
    cls = get_class(s, institution_id=institution_id, course_ext=course_ext, batch=batch)
    for a in answers:
        learner = reg_repo.learner(s, institution_id, a.learner_id)
        enrolment = (reg_repo.enrolment(s, learner.id, cls.course_id)
                     if learner is not None else None)
        if learner is None or enrolment is None or enrolment.class_batch != batch:
            raise InvalidInput(f"learner {a.learner_id!r} is not in class {batch!r}",
                               field="learner_id")
        who = _respondent(settings, cls, learner)
        row = s.scalar(select(SurveyResponse).where(SurveyResponse.class_id == cls.id,
                                                    SurveyResponse.respondent == who))
        if row is None:
            row = SurveyResponse(class_id=cls.id, respondent=who)
            s.add(row)
        row.satisfied, row.score, row.comment, row.submitted_at = (
            a.satisfied, a.score, a.comment, now)
    s.flush()
    result = satisfaction(s, cls, now.date())
    if result.rectification is None and rules.below_gate(
            result.satisfied, result.responses, min_rate=policy.satisfaction_min_rate,
            min_responses=policy.satisfaction_min_responses):
        rect = Rectification(institution_id=cls.institution_id, class_id=cls.id,
                             rate=float(result.rate or 0.0), started_at=now,
                             ends_on=add_months(now.date(), policy.rectification_months))
        s.add(rect)
        s.flush()
        audit_log.append(uow, actor="system", action="rectification.started",
                         subject=f"institution:{cls.institution_id}", at=now,
                         payload={"class_id": cls.id, "rate": rect.rate,
                                  "min_rate": policy.satisfaction_min_rate,
                                  "ends_on": rect.ends_on.isoformat()})
        result = satisfaction(s, cls, now.date())
    return result


def end_rectification(uow: UnitOfWork, *, rectification_id: int, actor: str, note: str,
                      now: datetime) -> Rectification:
    r = uow.session.get(Rectification, rectification_id)
    if r is None:
        raise NotFound("no such rectification period", field="rectification_id")
    if r.ended_at is not None:
        raise Conflict("this rectification period has already ended")
    r.ended_at, r.ended_by, r.end_note = now, actor, note.strip() or None
    audit_log.append(uow, actor=actor, action="rectification.ended",
                     subject=f"institution:{r.institution_id}", at=now,
                     payload={"rectification_id": r.id, "note": r.end_note})
    return r


def rectifications(s: Session, county_codes: list[str] | None) -> list[tuple[Rectification, str]]:
    q = (select(Rectification, Institution.name)
         .join(Institution, Institution.id == Rectification.institution_id)
         .order_by(Rectification.started_at.desc()))
    if county_codes is not None:
        q = q.where(Institution.county_code.in_(county_codes))
    return [(r, name) for r, name in s.execute(q).all()]
