"""Queries on study sessions and their telemetry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from proctor.storage.tables import StudySession, TelemetryEvent


def session_of(session: Session, institution_id: int, session_id: str) -> StudySession | None:
    """A study session, only if it belongs to the institution (no cross-institution reads)."""
    found = session.get(StudySession, session_id)
    return found if found is not None and found.institution_id == institution_id else None


def owned_sessions(session: Session, institution_id: int, ids: Iterable[str]) -> dict[str, str]:
    """{session id: status} for those of ``ids`` that belong to the institution."""
    wanted = list(set(ids))
    owned: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(StudySession.id, StudySession.status).where(
                StudySession.institution_id == institution_id, StudySession.id.in_(chunk)
            )
        )
        owned.update({sid: status for sid, status in rows})
    return owned


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Append events, ignoring ids already stored; returns the event ids that were new."""
    if not rows:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(TelemetryEvent)
        .on_conflict_do_nothing(index_elements=["institution_id", "event_id"])
        .returning(TelemetryEvent.event_id)
    )
    return set(session.scalars(stmt, list(rows)))


def touch_sessions(session: Session, last_event_at: dict[str, datetime]) -> None:
    for sid, at in last_event_at.items():
        session.execute(update(StudySession).where(StudySession.id == sid).values(last_event_at=at))


def end_sessions(session: Session, ended_at: dict[str, datetime]) -> None:
    for sid, at in ended_at.items():
        session.execute(
            update(StudySession)
            .where(StudySession.id == sid, StudySession.status == "open")
            .values(status="ended", ended_at=at)
        )


def events_of(session: Session, session_id: str) -> list[TelemetryEvent]:
    """A session's events in the client's seq order (ties by arrival)."""
    return list(
        session.scalars(
            select(TelemetryEvent)
            .where(TelemetryEvent.session_id == session_id)
            .order_by(TelemetryEvent.seq, TelemetryEvent.id)
        )
    )
