"""Enrolment photo submissions: what was sent, and what the face pipeline said about it.

A submission is kept whatever its fate (pending, enrolled, rejected): the learner's face
history is evidence too. Only an enrolled submission yields a FaceTemplate row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from proctor.storage.db import Base, UTCDateTime, utcnow


class FaceEnrolment(Base):
    __tablename__ = "face_enrolments"
    __table_args__ = (Index("ix_face_enrolments_learner_submitted", "learner_id", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    institution_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|enrolled|rejected|held
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    blob_key: Mapped[str | None] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("face_templates.id"))
    # where the reference photo came from: "photo" (one upload, the round-1 path),
    # "burst" (an enrolment liveness burst) or "staff_reviewed" (reviewed by institution staff)
    source: Mapped[str] = mapped_column(String(16), default="photo", server_default="photo")
    # staff_reviewed: who checked the photo against the person (name or e-mail)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))


class FaceIdentityHold(Base):
    """One person, one identity: an enrolment held for the county reviewer (1:N search).

    ``kind``: ``same_face_other_id`` (the new face matches a learner enrolled under another ID
    number) or ``other_face_same_id`` (a face already enrolled under this ID number does not
    match the new one). Both photos are reachable: the new one through ``enrolment_id``, the
    other through ``other_template_id``.
    """

    __tablename__ = "face_identity_holds"
    __table_args__ = (Index("ix_face_identity_holds_county_status", "county_code", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("face_enrolments.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    institution_id: Mapped[int] = mapped_column(Integer)
    county_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(32))
    other_learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    other_template_id: Mapped[int] = mapped_column(ForeignKey("face_templates.id"))
    model: Mapped[str] = mapped_column(String(64))
    distance: Mapped[float] = mapped_column(Float)
    scope: Mapped[str] = mapped_column(String(16))  # county | province
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | cleared | confirmed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(Integer)
