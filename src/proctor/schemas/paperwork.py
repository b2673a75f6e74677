"""Bodies of the paperwork endpoints (docs/paperwork.md)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from proctor.schemas.common import ExtId


class LeaveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: ExtId
    course_id: ExtId
    lesson_id: ExtId
    reason: str = Field(min_length=1, max_length=2000, description="请假事由, as written")


class LeaveOut(BaseModel):
    id: int
    lesson_id: str
    reason: str
    recorded_by: str
    recorded_at: datetime


class ClassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    opens_on: date = Field(description="开班日期")
    size: int = Field(ge=1, le=100000, description="learners in the class (每班人数)")


class ClassOut(BaseModel):
    course_id: str
    batch: str
    opens_on: date
    size: int
    enrolled: int


class SurveyAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: ExtId
    satisfied: bool = Field(description="满意 (satisfied) or not")
    score: int | None = Field(default=None, ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[SurveyAnswerIn] = Field(min_length=1, max_length=1000)


class SatisfactionOut(BaseModel):
    course_id: str
    batch: str
    responses: int
    satisfied: int
    rate: float | None
    institution_rate: float | None
    min_rate: float
    rectification: RectificationOut | None


class RectificationOut(BaseModel):
    id: int
    rate: float
    started_at: datetime
    ends_on: date
    ended_at: datetime | None


SatisfactionOut.model_rebuild()
