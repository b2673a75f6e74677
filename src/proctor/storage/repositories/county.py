"""Queries of the county's view: persons across institutions, exams, session facts, cases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from proctor.storage.tables import (
    CountyCase,
    CountyCaseInstitution,
    CountyCaseSession,
    CountyExam,
    CountySessionFact,
    Course,
    Enrolment,
    FaceIdentityHold,
    Institution,
    Learner,
    StudySession,
)


def learners_of_person(s: Session, person: str) -> list[Learner]:
    return list(s.scalars(select(Learner).where(Learner.id_hash == person).order_by(Learner.id)))


def learners_without_person_key(s: Session, limit: int = 1000) -> list[Learner]:
    return list(s.scalars(select(Learner).where(Learner.id_hash.is_(None)).limit(limit)))


def exams_of_person(s: Session, person: str) -> list[CountyExam]:
    return list(s.scalars(select(CountyExam).where(CountyExam.person == person)
                          .order_by(CountyExam.exam_on, CountyExam.id)))


def last_sat_exam_on(s: Session, person: str) -> date | None:
    return s.scalar(select(func.max(CountyExam.exam_on))
                    .where(CountyExam.person == person, CountyExam.result != "absent"))


def last_sat_exams(s: Session, persons: Sequence[str]) -> dict[str, date]:
    """{person: the last exam sat (not absent)} in one grouped query."""
    out: dict[str, date] = {}
    for i in range(0, len(persons), 500):
        out.update({p: d for p, d in s.execute(
            select(CountyExam.person, func.max(CountyExam.exam_on))
            .where(CountyExam.person.in_(persons[i:i + 500]), CountyExam.result != "absent")
            .group_by(CountyExam.person)) if d is not None})
    return out


def last_typed_exams(s: Session, id_numbers: Sequence[str]) -> dict[str, date]:
    """{ID number: the latest `last_exam_date` a platform typed for that person} (any course)."""
    out: dict[str, date] = {}
    for i in range(0, len(id_numbers), 500):
        out.update({n: d for n, d in s.execute(
            select(Learner.id_number, func.max(Enrolment.last_exam_date))
            .join(Learner, Learner.id == Enrolment.learner_id)
            .where(Learner.id_number.in_(id_numbers[i:i + 500]))
            .group_by(Learner.id_number)) if d is not None})
    return out


def exam(s: Session, learner_id: int, course_id: int, exam_on: date) -> CountyExam | None:
    return s.scalar(select(CountyExam).where(CountyExam.learner_id == learner_id,
                                             CountyExam.course_id == course_id,
                                             CountyExam.exam_on == exam_on))


def exams_where(s: Session, where: ColumnElement[bool], limit: int = 200) -> list[CountyExam]:
    return list(s.scalars(select(CountyExam).where(where)
                          .order_by(CountyExam.exam_on.desc(), CountyExam.id.desc()).limit(limit)))


def enrolments_of_learners(s: Session, learner_ids: Sequence[int]
                           ) -> list[tuple[Enrolment, Course]]:
    if not learner_ids:
        return []
    rows = s.execute(select(Enrolment, Course).join(Course, Course.id == Enrolment.course_id)
                     .where(Enrolment.learner_id.in_(list(learner_ids)))
                     .order_by(Enrolment.start_date, Enrolment.id))
    return [(e, c) for e, c in rows.tuples()]


def sessions_of_learners(s: Session, learner_ids: Sequence[int]) -> list[StudySession]:
    if not learner_ids:
        return []
    return list(s.scalars(select(StudySession).where(StudySession.learner_id.in_(list(learner_ids)))
                          .order_by(StudySession.started_at, StudySession.id)))


def institutions_by_id(s: Session, ids: Sequence[int]) -> dict[int, Institution]:
    if not ids:
        return {}
    return {i.id: i for i in s.scalars(select(Institution).where(Institution.id.in_(list(ids))))}


# ---------------------------------------------------------------- facts
def fact(s: Session, session_id: str) -> CountySessionFact | None:
    return s.get(CountySessionFact, session_id)


def facts_between(s: Session, start: datetime, end: datetime) -> list[CountySessionFact]:
    """Facts of sessions that started in [start, end)."""
    return list(s.scalars(select(CountySessionFact).where(CountySessionFact.start_at >= start,
                                                          CountySessionFact.start_at < end)))


def facts_around(s: Session, f: CountySessionFact, *, reach_s: float) -> list[CountySessionFact]:
    """Facts that may share a finding with ``f``: the same person, device, fingerprint, net or
    class, starting within ``reach_s`` of it (index lookups, no scan)."""
    lo, hi = f.start_at - timedelta(seconds=reach_s), f.end_at + timedelta(seconds=reach_s)
    near = (CountySessionFact.start_at >= lo) & (CountySessionFact.start_at < hi)
    links = [CountySessionFact.person == f.person,
             (CountySessionFact.institution_id == f.institution_id)
             & (CountySessionFact.course_id == f.course_id)
             & (CountySessionFact.class_batch == f.class_batch)]
    for column, value in ((CountySessionFact.device_id, f.device_id),
                          (CountySessionFact.fingerprint, f.fingerprint),
                          (CountySessionFact.ip24, f.ip24),
                          (CountySessionFact.sequence_digest, f.sequence_digest)):
        if value is not None:
            links.append(column == value)
    return list(s.scalars(select(CountySessionFact).where(near, or_(*links))))


def enrolments_of_persons(s: Session, persons: Sequence[str]
                          ) -> list[tuple[Enrolment, Learner]]:
    if not persons:
        return []
    rows = s.execute(select(Enrolment, Learner).join(Learner, Learner.id == Enrolment.learner_id)
                     .where(Learner.id_hash.in_(list(persons))))
    return [(e, x) for e, x in rows.tuples()]


def exams_of_persons(s: Session, persons: Sequence[str]) -> list[CountyExam]:
    if not persons:
        return []
    return list(s.scalars(select(CountyExam).where(CountyExam.person.in_(list(persons)))))


# ---------------------------------------------------------------- cases
def case_by_key(s: Session, rule: str, key: str) -> CountyCase | None:
    return s.scalar(select(CountyCase).where(CountyCase.rule == rule, CountyCase.key == key))


def cases_by_keys(s: Session, keys: Sequence[tuple[str, str]]
                  ) -> dict[tuple[str, str], CountyCase]:
    """The cases of (rule, key) pairs, in one query per 500 keys."""
    out: dict[tuple[str, str], CountyCase] = {}
    wanted = sorted(set(keys))
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        rows = s.scalars(select(CountyCase).where(
            CountyCase.key.in_([k for _, k in chunk]), CountyCase.rule.in_({r for r, _ in chunk})))
        out.update({(c.rule, c.key): c for c in rows if (c.rule, c.key) in set(chunk)})
    return out


def set_case_links(s: Session, case: CountyCase, institution_ids: Sequence[int],
                   session_ids: Sequence[str], *, fresh: bool = False) -> None:
    # synchronize_session=False: a check holds thousands of facts in the session, and the ORM
    # would otherwise test every one of them against the delete's criteria.
    for table in (CountyCaseInstitution, CountyCaseSession) if not fresh else ():
        s.execute(delete(table).where(table.case_id == case.id)
                  .execution_options(synchronize_session=False))
    s.add_all([CountyCaseInstitution(case_id=case.id, institution_id=i)
               for i in sorted(set(institution_ids))])
    s.add_all([CountyCaseSession(case_id=case.id, session_id=x) for x in sorted(set(session_ids))])


def cases_in_scope(s: Session, covers: ColumnElement[bool], *, status: str | None = None,
                   rule: str | None = None, institution_id: int | None = None,
                   limit: int = 200) -> list[CountyCase]:
    ids = select(CountyCaseInstitution.case_id).where(covers)
    if institution_id is not None:
        ids = ids.where(CountyCaseInstitution.institution_id == institution_id)
    stmt = select(CountyCase).where(CountyCase.id.in_(ids))
    if status:
        stmt = stmt.where(CountyCase.status == status)
    if rule:
        stmt = stmt.where(CountyCase.rule == rule)
    return list(s.scalars(stmt.order_by(CountyCase.opened_at.desc(), CountyCase.id.desc())
                          .limit(limit)))


def case_institution_ids(s: Session, case_id: int) -> list[int]:
    return list(s.scalars(select(CountyCaseInstitution.institution_id)
                          .where(CountyCaseInstitution.case_id == case_id)))


def confirmed_session_ids(s: Session, session_ids: Sequence[str]) -> set[str]:
    if not session_ids:
        return set()
    return set(s.scalars(select(CountyCaseSession.session_id)
                         .join(CountyCase, CountyCase.id == CountyCaseSession.case_id)
                         .where(CountyCase.status == "confirmed",
                                CountyCaseSession.session_id.in_(list(session_ids)))))


def case_counts_by_institution(s: Session) -> list[tuple[int, str, str, int]]:
    """(institution id, rule, status, cases)."""
    rows = s.execute(select(CountyCaseInstitution.institution_id, CountyCase.rule,
                            CountyCase.status, func.count())
                     .join(CountyCase, CountyCase.id == CountyCaseInstitution.case_id)
                     .group_by(CountyCaseInstitution.institution_id, CountyCase.rule,
                               CountyCase.status))
    return [(int(i), str(r), str(st), int(n)) for i, r, st, n in rows.tuples()]


def exam_counts_by_institution(s: Session) -> list[tuple[int, str, int]]:
    rows = s.execute(select(CountyExam.institution_id, CountyExam.result, func.count())
                     .group_by(CountyExam.institution_id, CountyExam.result))
    return [(int(i), str(r), int(n)) for i, r, n in rows.tuples()]


def same_face_holds(s: Session, start: datetime, end: datetime) -> list[FaceIdentityHold]:
    return list(s.scalars(select(FaceIdentityHold).where(
        FaceIdentityHold.kind == "same_face_other_id", FaceIdentityHold.created_at >= start,
        FaceIdentityHold.created_at < end)))
