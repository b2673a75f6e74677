"""Portal queries. Each takes a WHERE clause for the user's scope (services.scope.Scope.covers)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    distinct,
    false,
    func,
    or_,
    select,
    true,
    tuple_,
)
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


LearnerKey = tuple[str, str, int]  # (class batch, name, learner id): the roster's order


def _course_learners_where(course_id: int, q: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Enrolment.course_id == course_id]
    if q:
        if ID_NUMBER.fullmatch(q):  # an ID number matches in full only, never in part
            where.append(Learner.id_number == q.upper())
        else:
            like = "%" + q.replace("\\", "").replace("%", "").replace("_", "") + "%"
            where.append(or_(Learner.real_name.like(like), Learner.ext_id == q,
                             Enrolment.class_batch == q))
    return where


def course_learners_page(s: Session, course_id: int, *, q: str = "", limit: int,
                         offset: int = 0, after: LearnerKey | None = None
                         ) -> tuple[list[tuple[Learner, Enrolment]], int]:
    """One page of a course's learners in roster order (keyset after ``after``, else
    ``offset``), and how many match."""
    where = _course_learners_where(course_id, q)
    total = int(s.scalar(select(func.count()).select_from(Enrolment)
                         .join(Learner, Learner.id == Enrolment.learner_id).where(*where)) or 0)
    key = tuple_(Enrolment.class_batch, Learner.real_name, Learner.id)
    stmt = (select(Learner, Enrolment).join(Enrolment, Enrolment.learner_id == Learner.id)
            .where(*where))
    stmt = stmt.where(key > tuple_(*after)) if after is not None else stmt.offset(offset)
    rows = s.execute(stmt.order_by(Enrolment.class_batch, Learner.real_name, Learner.id)
                     .limit(limit))
    return [(x, e) for x, e in rows], total


def course_learner_key(s: Session, course_id: int, learner_id: int) -> LearnerKey | None:
    row = s.execute(select(Enrolment.class_batch, Learner.real_name, Learner.id)
                    .join(Learner, Learner.id == Enrolment.learner_id)
                    .where(Enrolment.course_id == course_id, Learner.id == learner_id)).first()
    return (str(row[0]), str(row[1]), int(row[2])) if row else None


def course_learner_chunks(s: Session, course_id: int, size: int = 500
                          ) -> Iterator[list[tuple[Learner, Enrolment]]]:
    """Every learner of a course in roster order, ``size`` at a time (keyset, for exports)."""
    after: LearnerKey | None = None
    while True:
        rows, _ = course_learners_page(s, course_id, limit=size, after=after)
        if not rows:
            return
        yield rows
        learner, enrolment = rows[-1]
        after = (enrolment.class_batch, learner.real_name, learner.id)


def course_summary(s: Session, course_id: int, lessons: int) -> dict[str, int]:
    """Learners of a course counted in the database (GROUP BY learner): all of them, those
    with every lesson valid, with a lesson invalid, with a session awaiting a second review."""
    per = (select(StudySession.learner_id.label("learner_id"),
                  func.count(distinct(case((SessionVerdict.status == "valid",
                                            StudySession.lesson_id)))).label("valid"),
                  func.sum(case((SessionVerdict.status == "invalid", 1), else_=0)).label("bad"),
                  func.sum(case((SessionVerdict.status == "under_review", 1), else_=0))
                  .label("reviewing"))
           .join(SessionVerdict, SessionVerdict.session_id == StudySession.id)
           .where(StudySession.course_id == course_id)
           .group_by(StudySession.learner_id).subquery())
    enrolled = select(Enrolment.learner_id).where(Enrolment.course_id == course_id)
    row = s.execute(select(
        func.count(),
        func.sum(case((per.c.valid >= lessons, 1), else_=0)),
        func.sum(case((per.c.bad > 0, 1), else_=0)),
        func.sum(case((per.c.reviewing > 0, 1), else_=0)))
        .select_from(per).where(per.c.learner_id.in_(enrolled))).one()
    learners = int(s.scalar(select(func.count()).select_from(Enrolment)
                            .where(Enrolment.course_id == course_id)) or 0)
    return {"learners": learners, "studied": int(row[0] or 0),
            "all_valid": int(row[1] or 0) if lessons else 0,
            "with_invalid": int(row[2] or 0), "under_review": int(row[3] or 0)}


def latest_sessions_by_lesson(s: Session, learner_ids: Sequence[int], course_id: int
                              ) -> dict[int, dict[int, str]]:
    """{learner id: {lesson id: its latest session}} for a page of learners, one query."""
    out: dict[int, dict[int, str]] = {x: {} for x in learner_ids}
    if not learner_ids:
        return out
    rows = s.execute(select(StudySession.learner_id, StudySession.lesson_id, StudySession.id)
                     .where(StudySession.learner_id.in_(list(learner_ids)),
                            StudySession.course_id == course_id)
                     .order_by(StudySession.started_at))
    for learner_id, lesson_id, sid in rows:
        out[learner_id][lesson_id] = sid  # later sittings overwrite earlier ones
    return out


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
NEEDS_REVIEW = SessionVerdict.awaiting == true()  # a stored column: see tables/evidence.py


def _queue_where(covers: Any, f: QueueFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [FLAGGED, covers(SessionVerdict.institution_id)]
    if f.county:
        where.append(Institution.county_code == f.county)
    if f.institution is not None:
        where.append(SessionVerdict.institution_id == f.institution)
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
        where.append(SessionVerdict.session_started_at >= f.started_from)
    if f.started_before is not None:
        where.append(SessionVerdict.session_started_at < f.started_before)
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


def _awaiting_first(f: QueueFilters) -> bool:
    return f.sort == ""


def queue(s: Session, covers: Any, f: QueueFilters, *, offset: int, limit: int,
          after: Cursor | None = None) -> tuple[list[QueueRow], int]:
    """Sessions awaiting a decision first, then the newest (or by ``f.sort``); keyset paging
    after ``after`` (the last row of the page before), else ``offset``. Ordered and counted on
    the verdicts' own columns (their partial indexes): the page reads ``limit`` rows, not the
    county's flagged sessions."""
    where = _queue_where(covers, f)
    counted = select(func.count()).select_from(SessionVerdict)
    if f.q or f.course is not None:  # the count joins only what the filters read
        counted = counted.join(StudySession, StudySession.id == SessionVerdict.session_id)
    if f.q:
        counted = counted.join(Learner, Learner.id == StudySession.learner_id)
    if f.q or f.county:
        counted = counted.join(Institution, Institution.id == SessionVerdict.institution_id)
    total = int(s.scalar(counted.where(*where)) or 0)
    newest = f.sort != "oldest"
    v = SessionVerdict
    stmt = _queue_select().where(*where)
    if after is not None:
        p, t, sid = after
        later = v.session_started_at < t if newest else v.session_started_at > t
        same_time = and_(v.session_started_at == t, v.session_id > sid)
        further = or_(later, same_time)
        if _awaiting_first(f):
            # the cursor's rank: 0 among those awaiting a decision (all the rest come after),
            # 1 among the rest
            not_awaiting = v.awaiting == false()
            further = (or_(and_(NEEDS_REVIEW, further), not_awaiting) if p == 0
                       else and_(not_awaiting, further))
        stmt = stmt.where(further)
    else:
        stmt = stmt.offset(offset)
    started = v.session_started_at.desc() if newest else v.session_started_at.asc()
    order = ([v.awaiting.desc()] if _awaiting_first(f) else []) + [started, v.session_id]
    rows = s.execute(stmt.order_by(*order).limit(limit))
    return [tuple(r[:6]) for r in rows], total


def cursor_of(row: QueueRow, f: QueueFilters) -> Cursor:
    st, verdict = row[0], row[1]
    return (0 if (not _awaiting_first(f) or verdict.awaiting) else 1, st.started_at, st.id)


def next_awaiting(s: Session, covers: Any, exclude: str) -> str | None:
    """The next session awaiting a decision (queue order), for 下一条."""
    v = SessionVerdict
    return s.scalar(select(v.session_id)
                    .where(FLAGGED, NEEDS_REVIEW, covers(v.institution_id),
                           v.session_id != exclude)
                    .order_by(v.awaiting.desc(), v.session_started_at.desc(), v.session_id)
                    .limit(1))


def needs_review_count(s: Session, covers: Any) -> int:
    """Sessions awaiting a decision (the queue's partial index, no join)."""
    return int(s.scalar(select(func.count()).select_from(SessionVerdict)
                        .where(FLAGGED, NEEDS_REVIEW,
                               covers(SessionVerdict.institution_id))) or 0)


# --- the dashboard ---------------------------------------------------------------------------

def day_buckets(column: Any, bounds: Sequence[datetime]) -> Any:
    """The index of the day ``column`` falls in (bounds: each day's start, and the end)."""
    return case(*((column < b, i) for i, b in enumerate(bounds[1:])), else_=-1)


DashboardRow = tuple[int, int, str, bool, tuple[str, ...], int]


def dashboard_counts(s: Session, covers: Any, bounds: Sequence[datetime]) -> list[DashboardRow]:
    """(institution id, day index, status, flagged by the engine, the rules it broke, sessions)
    over the sessions begun within ``bounds``, grouped in the database in two index-only scans:
    the verdicts (they carry their session's start), then the sessions per day, whose surplus
    is ``pending`` (no verdict yet). Neither joins the other table."""
    v = SessionVerdict
    day = day_buckets(v.session_started_at, bounds)
    flagged = v.engine_status == "invalid"
    rules = cast(v.rules, String)
    judged = s.execute(select(v.institution_id, day, v.status, flagged, rules, func.count())
                       .where(covers(v.institution_id), v.session_started_at >= bounds[0],
                              v.session_started_at < bounds[-1])
                       .group_by(v.institution_id, day, v.status, flagged, rules))
    out: list[DashboardRow] = []
    seen: dict[tuple[int, int], int] = {}
    codes: dict[str, tuple[str, ...]] = {}  # a rule list's text, decoded once
    for i, d, st, f, text, n in judged:
        if text not in codes:
            codes[text] = tuple(json.loads(text or "[]"))
        out.append((int(i), int(d), str(st), bool(f), codes[text], int(n)))
        seen[(int(i), int(d))] = seen.get((int(i), int(d)), 0) + int(n)
    sday = day_buckets(StudySession.started_at, bounds)
    begun = s.execute(select(StudySession.institution_id, sday, func.count())
                      .where(covers(StudySession.institution_id),
                             StudySession.started_at >= bounds[0],
                             StudySession.started_at < bounds[-1])
                      .group_by(StudySession.institution_id, sday))
    for i, d, n in begun:
        pending = int(n) - seen.get((int(i), int(d)), 0)
        if pending > 0:
            out.append((int(i), int(d), "pending", False, (), pending))
    return out


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
