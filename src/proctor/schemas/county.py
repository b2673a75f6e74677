"""The assessment body's exam API (docs/API.md "County: exams")."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from proctor.schemas.common import ExtId


class ExamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=15, max_length=18, description="the person's resident ID")
    institution: str = Field(min_length=1, max_length=200,
                             description="the training institution, as registered")
    course_id: ExtId = Field(description="the institution's course id")
    exam_on: date = Field(description="the day of the sitting (an exam month)")
    result: str = Field(description="pass | fail | absent")
    score: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)


class ExamOut(BaseModel):
    exam_id: int
    id_number_masked: str
    institution: str
    course_id: str
    class_batch: str | None
    exam_on: date
    result: str
    score: float | None
    created: bool
    no_new_subsidised_class_before: date | None = Field(
        description="the one-month rule: the first day a new subsidised class may start")
