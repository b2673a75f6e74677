"""What the service asked and saw: challenges (弹窗), photos (拍照), face templates, verdicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from proctor.domain.model import Outcome
from proctor.storage.db import Base, UTCDateTime, utcnow


class Challenge(Base):
    """A popup the service issued, at a moment it drew; the platform cannot make one up."""

    __tablename__ = "challenges"
    __table_args__ = (Index("ix_challenges_session_issued", "session_id", "issued_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("study_sessions.id"))
    institution_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # confirm | photo | liveness
    prompt: Mapped[str] = mapped_column(String(200))
    action: Mapped[str | None] = mapped_column(String(32))  # liveness: blink, turn_left, …
    expected_answer: Mapped[str | None] = mapped_column(String(32))  # confirm: the code shown
    plan_index: Mapped[int | None] = mapped_column(Integer)
    issued_playback_s: Mapped[float | None] = mapped_column(Float)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the client's word
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it reached us
    answer: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16), default=Outcome.PENDING)  # an Outcome
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Photo(Base):
    """One frame sent for a photo or liveness challenge, kept as evidence (blob + sha256)."""

    __tablename__ = "photos"
    __table_args__ = (Index("ix_photos_learner_taken", "learner_id", "taken_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("study_sessions.id"), index=True)
    challenge_id: Mapped[str] = mapped_column(ForeignKey("challenges.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    institution_id: Mapped[int] = mapped_column(Integer)
    frame_index: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blob_key: Mapped[str | None] = mapped_column(String(200))  # None once retention deleted it
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    phash: Mapped[str | None] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(24), default="pending")
    distance: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FaceTemplate(Base):
    """A learner's 128-d face template from an enrolment photo. Never returned by the API.

    Re-enrolment adds a row and deactivates the old one: history is kept.
    """

    __tablename__ = "face_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"), index=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    model: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    phash: Mapped[str | None] = mapped_column(String(32))
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A verdict the engine flagged, or one that stands invalid or under review: the queue's rows.
FLAGGED_SQL = "engine_status = 'invalid' OR status IN ('invalid', 'under_review')"
# Awaiting a decision: a second review, or a flagged verdict nobody has reviewed yet.
AWAITING_SQL = "status = 'under_review' OR (engine_status = 'invalid' AND NOT reviewed)"


class SessionVerdict(Base):
    """The latest verdict on a study session, with the policy version that made it.

    ``engine_status`` is what the rules said; ``status`` is what stands (after review).

    ``institution_id`` and ``session_started_at`` are the session's own (copied when the row is
    made; a session never moves or restarts), so the review queue, its count and the dashboard
    read this one table by index instead of joining 100,000 sessions per page (docs/portal.md).
    ``awaiting``: the row awaits a decision (a first review, or a second one).
    """

    __tablename__ = "verdicts"
    __table_args__ = (
        # the dashboard's counts: an index-only scan of the window (PostgreSQL INCLUDE)
        Index("ix_verdicts_started", "session_started_at",
              postgresql_include=["institution_id", "status", "engine_status", "rules"]),
        # the queue in its default order (awaiting first, newest first) and by date alone
        Index("ix_verdicts_queue", "awaiting", "session_started_at", "session_id",
              postgresql_where=text(FLAGGED_SQL), sqlite_where=text(FLAGGED_SQL)),
        Index("ix_verdicts_flagged_started", "session_started_at", "session_id",
              postgresql_where=text(FLAGGED_SQL), sqlite_where=text(FLAGGED_SQL)),
    )

    session_id: Mapped[str] = mapped_column(ForeignKey("study_sessions.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # a Status
    engine_status: Mapped[str] = mapped_column(String(16))  # a Status (never under_review)
    credited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)  # rule codes broken
    policy_id: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    session_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    awaiting: Mapped[bool] = mapped_column(Boolean, Computed(AWAITING_SQL, persisted=True))


@event.listens_for(SessionVerdict, "before_insert")
def _copy_session_facts(_mapper: Any, connection: Any, target: SessionVerdict) -> None:
    """A verdict added as an object gets its session's institution and start here (the upsert
    in repositories/evidence.py copies them in SQL)."""
    if target.institution_id is None or target.session_started_at is None:
        from proctor.storage.tables.study import StudySession

        row = connection.execute(select(StudySession.institution_id, StudySession.started_at)
                                 .where(StudySession.id == target.session_id)).first()
        if row is not None:
            target.institution_id, target.session_started_at = row
