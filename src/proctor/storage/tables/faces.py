"""Enrolment photo submissions: what was sent, and what the face pipeline said about it.

A submission is kept whatever its fate (pending, enrolled, rejected): the learner's face
history is evidence too. Only an enrolled submission yields a FaceTemplate row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from proctor.storage.db import Base, UTCDateTime, utcnow


class FaceEnrolment(Base):
    __tablename__ = "face_enrolments"
    __table_args__ = (Index("ix_face_enrolments_learner_submitted", "learner_id", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    institution_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|enrolled|rejected
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    blob_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("face_templates.id"))
