"""The county's own records (issue 14): exams, assessor keys, session facts, cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from proctor.storage.db import Base, UTCDateTime, utcnow


class AssessorKey(Base):
    """An assessment body's (考核/评价机构) credentials: records exams in its county, nothing else.

    Signed like a platform's requests (Standard Webhooks), sent with ``X-Proctor-Assessor-Key``.
    """

    __tablename__ = "county_assessor_keys"

    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str] = mapped_column(String(6))
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CountyExam(Base):
    """One sitting of an offline exam (结业考核), as the assessment body reported it."""

    __tablename__ = "county_exams"
    __table_args__ = (UniqueConstraint("learner_id", "course_id", "exam_on"),
                      Index("ix_county_exams_person_on", "person", "exam_on"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person: Mapped[str] = mapped_column(String(64))
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    class_batch: Mapped[str | None] = mapped_column(String(64))
    occupation: Mapped[str] = mapped_column(String(100))
    exam_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(16))  # pass | fail | absent
    score: Mapped[float | None] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(100))  # assessor key id or portal user
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CountySessionFact(Base):
    """What the cross-institution checks read of one session, computed once when it ends."""

    __tablename__ = "county_session_facts"
    __table_args__ = (Index("ix_county_facts_start", "start_at"),
                      Index("ix_county_facts_person_start", "person", "start_at"),
                      Index("ix_county_facts_device", "device_id"),
                      Index("ix_county_facts_fingerprint", "fingerprint"),
                      Index("ix_county_facts_ip24_start", "ip24", "start_at"),
                      Index("ix_county_facts_digest", "sequence_digest"))

    session_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    learner_id: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[int] = mapped_column(Integer)
    course_id: Mapped[int] = mapped_column(Integer)
    class_batch: Mapped[str] = mapped_column(String(64))
    lesson_id: Mapped[int] = mapped_column(Integer)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    device_id: Mapped[str | None] = mapped_column(String(200))
    fingerprint: Mapped[str | None] = mapped_column(String(200))
    ip24: Mapped[str | None] = mapped_column(String(64))
    heartbeats: Mapped[int] = mapped_column(Integer, default=0)
    heartbeat_jitter_ms: Mapped[float | None] = mapped_column(Float)
    sequence_digest: Mapped[str | None] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer, default=0)


class CountyCase(Base):
    """A signal and what the county made of it: open -> confirmed | dismissed.

    One case per (rule, key): a check that runs again extends the evidence of the open case
    instead of opening a second one.
    """

    __tablename__ = "county_cases"
    __table_args__ = (UniqueConstraint("rule", "key"), Index("ix_county_cases_status", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    summary: Mapped[str] = mapped_column(String(500))
    session_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    learner_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)


class CountyCaseInstitution(Base):
    """Which institutions a case concerns: what scopes it (a reviewer sees cases of their
    counties' institutions) and what the institution's record counts."""

    __tablename__ = "county_case_institutions"

    case_id: Mapped[int] = mapped_column(ForeignKey("county_cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True,
                                                index=True)


class CountyCaseSession(Base):
    """The sessions a case names: a confirmed case makes them invalid in standing."""

    __tablename__ = "county_case_sessions"

    case_id: Mapped[int] = mapped_column(ForeignKey("county_cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    session_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
