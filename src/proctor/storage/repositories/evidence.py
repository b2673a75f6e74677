"""Queries on challenges, photos and verdicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from proctor.domain.model import Outcome, SessionState, Status
from proctor.storage.tables import Challenge, Photo, SessionVerdict, StudySession


def challenges_of(s: Session, session_id: str) -> list[Challenge]:
    return list(s.scalars(select(Challenge).where(Challenge.session_id == session_id)
                          .order_by(Challenge.issued_at, Challenge.id)))


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
