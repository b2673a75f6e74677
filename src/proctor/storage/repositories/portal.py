"""Portal queries. Each takes a WHERE clause for the user's scope (services.scope.Scope.covers)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, false, func, literal, or_, select
from sqlalchemy.orm import Session

from proctor.storage.tables import (
    Course,
    Enrolment,
    FaceTemplate,
    Institution,
    Learner,
    Lesson,
    Photo,
    ReviewDecision,
    SessionVerdict,
    StudySession,
    User,
)

InScope = ColumnElement[bool]


@dataclass(frozen=True)
class QueueFilters:
    county: str = ""
    institution: int | None = None
    course: int | None = None
    rule: str = ""
    status: str = ""
    started_from: datetime | None = None
    started_before: datetime | None = None
    q: str = ""  # a name, a full ID number, a learner's platform id, an institution name
    sort: str = ""  # "" awaiting first then newest | "newest" | "oldest"


# --- single objects, or None when out of scope ---------------------------------------------

def institution(s: Session, covers: Any, institution_id: int) -> Institution | None:
    return s.scalar(select(Institution).where(Institution.id == institution_id,
                                              covers(Institution.id)))


def study_session(s: Session, covers: Any, session_id: str) -> StudySession | None:
    return s.scalar(select(StudySession).where(StudySession.id == session_id,
                                               covers(StudySession.institution_id)))


def learner(s: Session, covers: Any, learner_id: int) -> Learner | None:
    return s.scalar(select(Learner).where(Learner.id == learner_id,
                                          covers(Learner.institution_id)))


def photo(s: Session, covers: Any, photo_id: str) -> Photo | None:
    return s.scalar(select(Photo).where(Photo.id == photo_id, covers(Photo.institution_id)))


# --- lists ---------------------------------------------------------------------------------

def institutions(s: Session, covers: Any) -> list[Institution]:
    return list(s.scalars(select(Institution).where(covers(Institution.id))
                          .order_by(Institution.county_code, Institution.name)))


def courses(s: Session, covers: Any, institution_id: int | None = None) -> list[Course]:
    stmt = select(Course).where(covers(Course.institution_id))
    if institution_id is not None:
        stmt = stmt.where(Course.institution_id == institution_id)
    return list(s.scalars(stmt.order_by(Course.title, Course.id)))


def enrolments_of(s: Session, learner_id: int) -> list[tuple[Enrolment, Course]]:
    rows = s.execute(select(Enrolment, Course).join(Course, Course.id == Enrolment.course_id)
                     .where(Enrolment.learner_id == learner_id).order_by(Enrolment.start_date))
    return [(e, c) for e, c in rows]


def learners_of_course(s: Session, course_id: int) -> list[tuple[Learner, Enrolment]]:
    rows = s.execute(select(Learner, Enrolment).join(Enrolment, Enrolment.learner_id == Learner.id)
                     .where(Enrolment.course_id == course_id)
                     .order_by(Enrolment.class_batch, Learner.real_name, Learner.id))
    return [(x, e) for x, e in rows]


def latest_session_by_lesson(s: Session, learner_id: int, course_id: int) -> dict[int, str]:
    rows = s.execute(select(StudySession.lesson_id, StudySession.id)
                     .where(StudySession.learner_id == learner_id,
                            StudySession.course_id == course_id)
                     .order_by(StudySession.started_at))
    return {lesson_id: sid for lesson_id, sid in rows}  # later sittings overwrite earlier ones


def last_reviewers(s: Session, session_ids: Sequence[str]) -> dict[str, str]:
    if not session_ids:
        return {}
    rows = s.execute(select(ReviewDecision.session_id, User.display_name)
                     .join(User, User.id == ReviewDecision.reviewer_id)
                     .where(ReviewDecision.session_id.in_(list(session_ids)))
                     .order_by(ReviewDecision.created_at, ReviewDecision.id))
    return {sid: name for sid, name in rows}


def last_decisions(s: Session, session_ids: Sequence[str]) -> dict[str, tuple[ReviewDecision, str]]:
    if not session_ids:
        return {}
    rows = s.execute(select(ReviewDecision, User.display_name)
                     .join(User, User.id == ReviewDecision.reviewer_id)
                     .where(ReviewDecision.session_id.in_(list(session_ids)))
                     .order_by(ReviewDecision.created_at, ReviewDecision.id))
    return {d.session_id: (d, name) for d, name in rows}


# --- the flagged-session queue ---------------------------------------------------------------

FLAGGED = or_(SessionVerdict.engine_status == "invalid",
              SessionVerdict.status.in_(("invalid", "under_review")))
AWAITING_FIRST = and_(SessionVerdict.engine_status == "invalid",
                      SessionVerdict.reviewed.is_(False))
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
NEEDS_REVIEW = or_(SessionVerdict.status == "under_review",
                   and_(SessionVerdict.engine_status == "invalid",
                        SessionVerdict.reviewed.is_(False)))


def _queue_where(covers: Any, f: QueueFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [FLAGGED, covers(StudySession.institution_id)]
    if f.county:
        where.append(Institution.county_code == f.county)
    if f.institution is not None:
        where.append(StudySession.institution_id == f.institution)
    if f.course is not None:
        where.append(StudySession.course_id == f.course)
    if f.rule:
        # The rule codes are a JSON list; its text holds "CODE" with the quotes (codes are
        # checked against the known ones before they get here).
        where.append(cast(SessionVerdict.rules, String).like(f'%"{f.rule}"%'))
    if f.status == "needs_review":
        where.append(NEEDS_REVIEW)
    elif f.status == "awaiting":
        where.append(AWAITING_FIRST)
    elif f.status == "second":
        where.append(SessionVerdict.status == "under_review")
    elif f.status == "reviewed":
        where.append(and_(SessionVerdict.reviewed.is_(True),
                          SessionVerdict.status != "under_review"))
    elif f.status:
        where.append(SessionVerdict.status == f.status)
    if f.q:
        if ID_NUMBER.fullmatch(f.q):  # an ID number matches in full only, never in part
            where.append(Learner.id_number == f.q.upper())
        else:
            like = "%" + f.q.replace("\\", "").replace("%", "").replace("_", "") + "%"
            where.append(or_(Learner.real_name.like(like), Institution.name.like(like),
                             Learner.ext_id == f.q))
    if f.started_from is not None:
        where.append(StudySession.started_at >= f.started_from)
    if f.started_before is not None:
        where.append(StudySession.started_at < f.started_before)
    return where


def _queue_select() -> Any:
    return (select(StudySession, SessionVerdict, Learner, Institution, Course, Lesson)
            .join(SessionVerdict, SessionVerdict.session_id == StudySession.id)
            .join(Learner, Learner.id == StudySession.learner_id)
            .join(Institution, Institution.id == StudySession.institution_id)
            .join(Course, Course.id == StudySession.course_id)
            .join(Lesson, Lesson.id == StudySession.lesson_id))


QueueRow = tuple[StudySession, SessionVerdict, Learner, Institution, Course, Lesson]
Cursor = tuple[int, datetime, str]  # (awaiting first?, started_at, session id) of a row


def _order(f: QueueFilters) -> tuple[Any, bool]:
    """(the priority expression, newest first?)"""
    prio = case((NEEDS_REVIEW, 0), else_=1) if f.sort == "" else literal(0)
    return prio, f.sort != "oldest"


def queue(s: Session, covers: Any, f: QueueFilters, *, offset: int, limit: int,
          after: Cursor | None = None) -> tuple[list[QueueRow], int]:
    """Sessions awaiting a decision first, then the newest (or by ``f.sort``); keyset paging
    after ``after`` (the last row of the page before), else ``offset``."""
    where = _queue_where(covers, f)
    total = int(s.scalar(select(func.count()).select_from(StudySession)
                         .join(SessionVerdict, SessionVerdict.session_id == StudySession.id)
                         .join(Learner, Learner.id == StudySession.learner_id)
                         .join(Institution, Institution.id == StudySession.institution_id)
                         .where(*where)) or 0)
    prio, newest = _order(f)
    stmt = _queue_select().where(*where)
    if after is not None:
        p, t, sid = after
        later = StudySession.started_at < t if newest else StudySession.started_at > t
        stmt = stmt.where(or_(prio > p, and_(prio == p, later),
                              and_(prio == p, StudySession.started_at == t,
                                   StudySession.id > sid)))
    else:
        stmt = stmt.offset(offset)
    started = StudySession.started_at.desc() if newest else StudySession.started_at.asc()
    rows = s.execute(stmt.add_columns(prio).order_by(prio, started, StudySession.id)
                     .limit(limit))
    out: list[QueueRow] = []
    for r in rows:
        out.append(tuple(r[:6]))
    return out, total


def cursor_of(row: QueueRow, f: QueueFilters) -> Cursor:
    st, verdict = row[0], row[1]
    awaiting = verdict.status == "under_review" or (verdict.engine_status == "invalid"
                                                     and not verdict.reviewed)
    return (0 if (f.sort != "" or awaiting) else 1, st.started_at, st.id)


def next_awaiting(s: Session, covers: Any, exclude: str) -> str | None:
    """The next session awaiting a decision (queue order), for 下一条."""
    return s.scalar(select(StudySession.id)
                    .join(SessionVerdict, SessionVerdict.session_id == StudySession.id)
                    .where(NEEDS_REVIEW, covers(StudySession.institution_id),
                           StudySession.id != exclude)
                    .order_by(StudySession.started_at.desc(), StudySession.id).limit(1))


def needs_review_count(s: Session, covers: Any) -> int:
    return int(s.scalar(select(func.count()).select_from(StudySession)
                        .join(SessionVerdict, SessionVerdict.session_id == StudySession.id)
                        .where(NEEDS_REVIEW, covers(StudySession.institution_id))) or 0)


# --- the dashboard ---------------------------------------------------------------------------

def session_facts(s: Session, covers: Any, since: datetime
                  ) -> list[tuple[int, datetime, str | None, str | None, list[str] | None]]:
    """(institution id, started_at, status, engine status, rules) of sessions begun since."""
    rows = s.execute(select(StudySession.institution_id, StudySession.started_at,
                            SessionVerdict.status, SessionVerdict.engine_status,
                            SessionVerdict.rules)
                     .outerjoin(SessionVerdict, SessionVerdict.session_id == StudySession.id)
                     .where(covers(StudySession.institution_id), StudySession.started_at >= since))
    return [tuple(r) for r in rows]  # type: ignore[misc]


def nothing(_column: Any) -> ColumnElement[bool]:
    return false()


def enrolment_blob(s: Session, learner_id: int) -> str | None:
    """The blob of the learner's active enrolment photo (what snapshots are matched against)."""
    return s.execute(select(FaceTemplate.blob_key).where(
        FaceTemplate.learner_id == learner_id, FaceTemplate.active.is_(True),
        FaceTemplate.blob_key.is_not(None)).order_by(FaceTemplate.id.desc()).limit(1)
    ).scalar_one_or_none()
