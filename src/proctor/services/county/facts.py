"""Per-session facts: computed once when a session ends (or goes idle), read by every check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.county.facts import EventValue, network_of, telemetry_stats
from proctor.domain.county.signals import SessionFact
from proctor.services.county.persons import person_of
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import CountySessionFact, Learner, StudySession


def _text(value: object, limit: int = 200) -> str | None:
    return str(value)[:limit] if isinstance(value, str | int) and str(value).strip() else None


def build_fact(s: Session, study: StudySession, *, settings: Settings) -> CountySessionFact:
    """Store (or refresh) the fact row of one session from its row, client info and events."""
    learner = s.get(Learner, study.learner_id)
    assert learner is not None
    enrolment = reg_repo.enrolment(s, learner.id, study.course_id)
    events = study_repo.events_of(s, study.id)
    stats = telemetry_stats([EventValue(e.seq, e.type, e.client_ts.timestamp(), e.position)
                             for e in events])
    client = study.client or {}
    end = study.ended_at or study.last_event_at or study.started_at
    row = s.get(CountySessionFact, study.id) or CountySessionFact(session_id=study.id)
    row.learner_id, row.person = learner.id, person_of(learner, settings)
    row.institution_id, row.course_id, row.lesson_id = (study.institution_id, study.course_id,
                                                        study.lesson_id)
    row.class_batch = enrolment.class_batch if enrolment is not None else ""
    row.start_at, row.end_at = study.started_at, max(end, study.started_at)
    row.device_id, row.fingerprint = _text(client.get("device_id")), _text(client.get("fingerprint"))
    row.ip24 = network_of(_text(client.get("ip"), 64))
    row.heartbeats, row.heartbeat_jitter_ms = stats.heartbeats, stats.heartbeat_jitter_ms
    row.sequence_digest, row.events = stats.sequence_digest, stats.events
    s.add(row)
    s.flush()
    return row


def as_value(row: CountySessionFact) -> SessionFact:
    return SessionFact(
        session_id=row.session_id, learner_id=row.learner_id, person=row.person,
        institution_id=row.institution_id, course_id=row.course_id, class_batch=row.class_batch,
        lesson_id=row.lesson_id, start=row.start_at.timestamp(), end=row.end_at.timestamp(),
        device_id=row.device_id, fingerprint=row.fingerprint, ip24=row.ip24,
        heartbeats=row.heartbeats, heartbeat_jitter_ms=row.heartbeat_jitter_ms,
        sequence_digest=row.sequence_digest, events=row.events)


def ended(study: StudySession, now: datetime, idle_s: float) -> bool:
    """A session is final for the county once it ended or went idle."""
    if study.status == "ended":
        return True
    last = study.last_event_at or study.started_at
    return (now - last).total_seconds() >= idle_s
