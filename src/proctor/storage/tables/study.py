"""Study sessions and their telemetry, stored append-only for volume."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from proctor.domain.model import SessionState
from proctor.storage.db import Base, EventType, UTCDateTime, UUIDText, utcnow


class StudySession(Base):
    """One learner, one lesson, one sitting."""

    __tablename__ = "study_sessions"
    __table_args__ = (Index("ix_study_sessions_learner_started", "learner_id", "started_at"),
                      # the dashboard's sessions per day: an index-only scan (PostgreSQL)
                      Index("ix_study_sessions_started", "started_at",
                            postgresql_include=["institution_id"]),
                      # room on each page for the last-seen time's updates in place (HOT):
                      # every batch of events moves it (migration 0014)
                      {"postgresql_with": {"fillfactor": 70}})

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"), index=True)
    client: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=SessionState.OPEN)  # a SessionState
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The challenge moments drawn (with `secrets`) when the session opened, in playback seconds.
    challenge_plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class TelemetryEvent(Base):
    """A player event. Append-only, idempotent on ``event_key`` (docs/scaling.md).

    Narrow on purpose (province volume): no surrogate id and no institution (the session says
    both), the session as a native uuid on PostgreSQL, the type as a small integer, and one
    64-bit key instead of a text index over the platform's event id: the key's top 16 bits are
    the session's start day (so a session's events share one monthly partition and the key's
    range is the partition key), the low 48 bits a hash of (session, event id); a collision is
    detected against the stored event id and moved to the next free key.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_session_id", "session_id"),)

    event_key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # No foreign key on purpose: checking it row by row took half of the bulk insert's time
    # (docs/benchmarks.md). The ingest service checks every event's session in one query per
    # batch, and study sessions are never deleted.
    session_id: Mapped[str] = mapped_column(UUIDText)
    client_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    server_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    position: Mapped[float | None] = mapped_column(Float)
    from_pos: Mapped[float | None] = mapped_column(Float)
    to_pos: Mapped[float | None] = mapped_column(Float)
    rate: Mapped[float | None] = mapped_column(Float)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(EventType)
    visible: Mapped[bool | None] = mapped_column(Boolean)
    focused: Mapped[bool | None] = mapped_column(Boolean)
    state: Mapped[str | None] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))


class WebhookReceipt(Base):
    """webhook-ids already seen, for replay refusal when no Redis is configured."""

    __tablename__ = "webhook_receipts"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    msg_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
