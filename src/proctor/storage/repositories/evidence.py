"""Queries on challenges, photos and verdicts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, case, cast, func, literal, null, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from proctor.domain.model import Outcome, SessionState, Status
from proctor.storage.db import driver_connection
from proctor.storage.tables import Challenge, Photo, SessionVerdict, StudySession


def challenges_of(s: Session, session_id: str) -> list[Challenge]:
    return list(s.scalars(select(Challenge).where(Challenge.session_id == session_id)
                          .order_by(Challenge.issued_at, Challenge.id)))


# What evaluation reads of several sessions' challenges and photos, one tuple per row with
# times as unix seconds (PostgreSQL's ``date_part``: exactly ``datetime.timestamp()``), in the
# order evaluation reads them. Re-judging reads ~840 challenges a learner; datetimes made by
# the driver and converted again cost more than the query.
#   challenge: (session id, id, kind, issued, expires, received or None, outcome,
#               issued_playback_s, plan_index)
#   photo:     (session id, id, challenge id, taken, outcome, distance, reasons)
_CHALLENGE_VALUES_PG = (
    "SELECT session_id, id, kind, date_part('epoch', issued_at), date_part('epoch', expires_at), "
    "date_part('epoch', received_at), outcome, issued_playback_s, plan_index FROM challenges "
    "WHERE session_id = ANY(%s) ORDER BY issued_at, id")
_PHOTO_VALUES_PG = (
    "SELECT session_id, id, challenge_id, date_part('epoch', taken_at), outcome, distance, "
    "reasons FROM photos WHERE session_id = ANY(%s) ORDER BY taken_at, frame_index")


def _value_rows(s: Session, session_ids: Sequence[str], pg_query: str,
                statement: Callable[[list[str]], Any],
                times: frozenset[int]) -> list[tuple[Any, ...]]:
    """Rows of ``pg_query`` on PostgreSQL, else of ``statement(session ids)`` with the columns
    at ``times`` made unix seconds (the same tuples either way). The statement is only built
    where it runs: on PostgreSQL, building it cost a fifth of the read."""
    if not session_ids:
        return []
    if s.get_bind().dialect.name == "postgresql":
        if s.autoflush:  # what the session changed and holds unflushed, as a select would see
            s.flush()
        with driver_connection(s).cursor(binary=True) as cur:
            return cur.execute(pg_query, (list(session_ids),)).fetchall()
    return [tuple(v.timestamp() if i in times and v is not None else v for i, v in enumerate(row))
            for row in s.execute(statement(list(session_ids)))]


def _challenge_values_stmt(session_ids: list[str]) -> Any:
    c = Challenge
    return (select(c.session_id, c.id, c.kind, c.issued_at, c.expires_at, c.received_at,
                   c.outcome, c.issued_playback_s, c.plan_index)
            .where(c.session_id.in_(session_ids)).order_by(c.issued_at, c.id))


def _photo_values_stmt(session_ids: list[str]) -> Any:
    p = Photo
    return (select(p.session_id, p.id, p.challenge_id, p.taken_at, p.outcome, p.distance,
                   p.reasons)
            .where(p.session_id.in_(session_ids)).order_by(p.taken_at, p.frame_index))


def challenge_values(s: Session, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """The sessions' challenges as value tuples (see above), oldest first."""
    return _value_rows(s, session_ids, _CHALLENGE_VALUES_PG, _challenge_values_stmt,
                       frozenset({3, 4, 5}))


def photo_values(s: Session, session_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """The sessions' photos as value tuples (see above), in the order they were taken."""
    return _value_rows(s, session_ids, _PHOTO_VALUES_PG, _photo_values_stmt, frozenset({3}))


def challenge_of(s: Session, institution_id: int, challenge_id: str, *,
                 for_update: bool = False) -> Challenge | None:
    stmt = select(Challenge).where(Challenge.id == challenge_id,
                                   Challenge.institution_id == institution_id)
    if for_update:
        stmt = stmt.with_for_update()
    return s.scalar(stmt)


def expire_overdue(s: Session, session_id: str, now: datetime) -> None:
    s.execute(update(Challenge)
              .where(Challenge.session_id == session_id, Challenge.outcome == Outcome.PENDING,
                     Challenge.expires_at < now)
              .values(outcome=Outcome.EXPIRED))


def photos_of(s: Session, session_id: str) -> list[Photo]:
    return list(s.scalars(select(Photo).where(Photo.session_id == session_id)
                          .order_by(Photo.taken_at, Photo.frame_index)))


def verdict_of(s: Session, session_id: str) -> SessionVerdict | None:
    return s.get(SessionVerdict, session_id)


def verdicts_for(s: Session, session_ids: Sequence[str]) -> dict[str, SessionVerdict]:
    if not session_ids:
        return {}
    rows = s.scalars(select(SessionVerdict).where(SessionVerdict.session_id.in_(list(session_ids))))
    return {v.session_id: v for v in rows}


@dataclass(frozen=True, slots=True)
class VerdictSummary:
    """A stored verdict as a lesson's standing reads it (``engine.aggregate_lesson``): ``result``
    is the stored result with its ``violations`` left out (the database drops them: neither
    shipped nor parsed), and None for a verdict that stands invalid (an invalid sitting's
    coverage, photos and playback count for nothing in its lesson, and flagged results are
    the heavy ones); ``rules``: the codes of the rules its violations broke (the ``rules``
    column, written from the same verdict)."""

    session_id: str
    status: str
    engine_status: str
    revision: int
    credited_seconds: float
    policy_id: str
    policy_version: str
    result: dict[str, Any] | None
    rules: tuple[str, ...]


def verdict_summaries(s: Session, session_ids: Sequence[str]) -> dict[str, VerdictSummary]:
    """:class:`VerdictSummary` of these sessions' verdicts (those that have one)."""
    if not session_ids:
        return {}
    v = SessionVerdict
    if s.get_bind().dialect.name == "postgresql":
        stripped: Any = cast(v.result, postgresql.JSONB).op(
            "-", return_type=postgresql.JSONB)(literal("violations", String))
    else:
        stripped = type_coerce(func.json_remove(v.result, "$.violations"), JSON)
    result = case((v.status == Status.INVALID, null()), else_=stripped)
    rows = s.execute(select(v.session_id, v.status, v.engine_status, v.revision,
                            v.credited_seconds, v.policy_id, v.policy_version, result, v.rules)
                     .where(v.session_id.in_(list(session_ids))))
    return {sid: VerdictSummary(sid, status, engine_status, revision, credited, policy_id,
                                version, stripped_result, tuple(rules or ()))
            for (sid, status, engine_status, revision, credited, policy_id, version,
                 stripped_result, rules) in rows}


def sessions_of_learner(s: Session, learner_id: int, *, course_id: int | None = None
                        ) -> list[StudySession]:
    stmt = select(StudySession).where(StudySession.learner_id == learner_id)
    if course_id is not None:
        stmt = stmt.where(StudySession.course_id == course_id)
    return list(s.scalars(stmt.order_by(StudySession.started_at, StudySession.id)))


def overlapping_sessions(s: Session, learner_id: int, session_id: str, start: datetime,
                         end: datetime) -> list[StudySession]:
    """The learner's other sessions (any course, any device) whose span meets [start, end]."""
    stmt = select(StudySession).where(
        StudySession.learner_id == learner_id, StudySession.id != session_id,
        StudySession.started_at <= end)
    return [x for x in s.scalars(stmt)
            if (x.ended_at or x.last_event_at or x.started_at) >= start]


def open_idle_sessions(s: Session, idle_before: datetime, limit: int = 500) -> list[str]:
    """Open sessions silent since ``idle_before`` (or never heard from since then)."""
    stmt = (select(StudySession.id)
            .where(StudySession.status == SessionState.OPEN,
                   ((StudySession.last_event_at.is_(None)) & (StudySession.started_at < idle_before))
                   | (StudySession.last_event_at < idle_before))
            .limit(limit))
    return list(s.scalars(stmt))


def verdicts_to_recheck(s: Session, now: datetime, limit: int = 500) -> list[str]:
    """Sessions whose pending verdict asked to be judged again by now (``result.recheck_at``)."""
    until = SessionVerdict.result["recheck_at"].as_float()
    stmt = (select(SessionVerdict.session_id)
            .where(SessionVerdict.status == Status.PENDING, until.is_not(None),
                   until <= now.timestamp())
            .order_by(SessionVerdict.session_id).limit(limit))
    return list(s.scalars(stmt))


def first_verdict_row(s: Session, session_id: str, fields: dict[str, Any]) -> SessionVerdict:
    """The verdict row, made by an upsert: two first evaluations of one session (a redelivered
    task, the reconciler and a worker) never race on the primary key; the second waits on the
    first one's row lock (PostgreSQL) and then updates it."""
    dialect = s.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    of_session = select(StudySession).where(StudySession.id == session_id)
    s.execute(insert(SessionVerdict)
              .values(session_id=session_id, status="pending", revision=0, reviewed=False,
                      institution_id=of_session.with_only_columns(
                          StudySession.institution_id).scalar_subquery(),
                      session_started_at=of_session.with_only_columns(
                          StudySession.started_at).scalar_subquery(),
                      **fields)
              .on_conflict_do_nothing(index_elements=["session_id"]))
    row = s.get(SessionVerdict, session_id, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def ended_without_current_verdict(s: Session, settled_before: datetime,
                                  limit: int = 500) -> list[str]:
    """Ended sessions (ended before ``settled_before``) with no verdict at all, or whose verdict
    was computed before their last event arrived: their evaluation was lost in the broker."""
    stmt = (select(StudySession.id)
            .outerjoin(SessionVerdict, SessionVerdict.session_id == StudySession.id)
            .where(StudySession.status == "ended",
                   StudySession.ended_at.is_not(None), StudySession.ended_at < settled_before,
                   SessionVerdict.session_id.is_(None)
                   | (StudySession.last_event_at.is_not(None)
                      & (SessionVerdict.evaluated_at < StudySession.last_event_at)))
            .order_by(StudySession.ended_at).limit(limit))
    return list(s.scalars(stmt))


def challenges_with_stale_photos(s: Session, taken_before: datetime,
                                 limit: int = 200) -> list[str]:
    """Challenges holding a photo still ``pending`` since before ``taken_before``: the face
    worker that had it died (or its task was lost)."""
    stmt = (select(Photo.challenge_id)
            .where(Photo.outcome == "pending", Photo.taken_at < taken_before)
            .group_by(Photo.challenge_id).order_by(Photo.challenge_id).limit(limit))
    return list(s.scalars(stmt))
