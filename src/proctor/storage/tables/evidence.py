"""What the service asked and saw: challenges (弹窗), photos (拍照), face templates, verdicts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String
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


class SessionVerdict(Base):
    """The latest verdict on a study session, with the policy version that made it.

    ``engine_status`` is what the rules said; ``status`` is what stands (after review).
    """

    __tablename__ = "verdicts"

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
