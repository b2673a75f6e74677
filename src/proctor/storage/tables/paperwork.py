"""The plans' paperwork (docs/paperwork.md): leaves for make-up study, classes, satisfaction
surveys and rectification periods, subsidy notices and their objections, county reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from proctor.storage.db import Base, UTCDateTime, utcnow


class Leave(Base):
    """A written leave (请假) for one lesson: invalid sittings before it may be made up (补学)."""

    __tablename__ = "leaves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learners.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id"))
    reason: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(100))  # "platform:<key>" or "user:<id> name"
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_leaves_learner_course", Leave.learner_id, Leave.course_id)


class TrainingClass(Base):
    """A class (班): an institution's course batch (开班批次), with its opening date and size."""

    __tablename__ = "classes"
    __table_args__ = (UniqueConstraint("course_id", "batch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    batch: Mapped[str] = mapped_column(String(64))
    opens_on: Mapped[date] = mapped_column(Date)
    size: Mapped[int] = mapped_column(Integer, default=0)  # enrolments in the class
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SurveyResponse(Base):
    """One learner's satisfaction answer for a class; the learner is kept only as a keyed hash."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("class_id", "respondent"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    respondent: Mapped[str] = mapped_column(String(64))  # HMAC of the learner: anonymous
    satisfied: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)  # 1..5 when given
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Rectification(Base):
    """A rectification period (整改期): the institution may open no new class until it ends."""

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("classes.id"))
    rate: Mapped[float] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_on: Mapped[date] = mapped_column(Date)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(100))
    end_note: Mapped[str | None] = mapped_column(Text)


class Notice(Base):
    """A class's subsidy roster in public notice (公示), then under review."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # the public page's address
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id"), index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)  # last working day of the notice
    review_due_on: Mapped[date] = mapped_column(Date)  # review deadline after the notice
    roster: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # masked rows, as published
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))


class Objection(Base):
    """An objection (异议) to a notice, submitted by anyone, answered in the portal."""

    __tablename__ = "objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(100))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(100))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Report(Base):
    """A county report for a month, quarter or year: its figures and the XLSX made from them."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("county_code", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6))
    period: Mapped[str] = mapped_column(String(16))  # 2026-11 | 2026-Q4 | 2026
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    xlsx: Mapped[bytes] = mapped_column(LargeBinary)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime)
