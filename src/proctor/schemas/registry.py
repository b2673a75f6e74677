"""Registering what is studied (CONTRACT §2)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from proctor.schemas.common import ExtId


class LessonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: ExtId
    seq: int = Field(ge=1, description="order within the course, from 1")
    title: str | None = Field(default=None, max_length=200)
    duration_s: float = Field(gt=0, le=24 * 3600, allow_inf_nan=False, description="media length")
    class_hours: float = Field(gt=0, le=40, allow_inf_nan=False, description="学时 it counts for")


class CourseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    occupation: str = Field(min_length=1, max_length=100, description="职业/工种")
    required_class_hours: float = Field(gt=0, le=2000, allow_inf_nan=False)
    certificate_only: bool = Field(default=False, description="专项/证书类 course (>=40 class hours)")
    offline_practical_hours: float = Field(
        default=0, ge=0, le=2000, allow_inf_nan=False,
        description="线下实训学时 the training plan provides (annex 3 row 2 needs >= 8)")
    lessons: list[LessonIn] = Field(min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _unique_lessons(self) -> CourseIn:
        ids = [lesson.id for lesson in self.lessons]
        seqs = [lesson.seq for lesson in self.lessons]
        if len(set(ids)) != len(ids):
            raise ValueError("lessons: lesson ids must be unique within the course")
        if len(set(seqs)) != len(seqs):
            raise ValueError("lessons: lesson seq numbers must be unique within the course")
        return self


class LessonOut(BaseModel):
    id: str
    seq: int
    title: str | None
    duration_s: float
    class_hours: float


class CourseOut(BaseModel):
    id: str
    title: str
    occupation: str
    required_class_hours: float
    certificate_only: bool
    offline_practical_hours: float
    lessons: list[LessonOut]


class LearnerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    real_name: str = Field(min_length=1, max_length=100)
    id_number: str = Field(min_length=1, max_length=32, description="18-char resident ID (GB 11643)")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,20}$")

    @field_validator("real_name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("real_name must not be blank")
        return v


class LearnerOut(BaseModel):
    id: str
    real_name: str
    id_number_masked: str
    phone_masked: str | None


class EnrolmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    class_batch: str = Field(min_length=1, max_length=64, description="开班批次")
    start_date: date
    practical_hours: float = Field(default=0, ge=0, le=2000, allow_inf_nan=False,
                                   description="offline practical hours recorded by the institution")
    last_exam_date: date | None = None


class EnrolmentOut(BaseModel):
    learner_id: str
    course_id: str
    class_batch: str
    start_date: date
    practical_hours: float
    last_exam_date: date | None


# an origin as browsers send it: scheme, host, optional port; no path, no trailing slash
Origin = Annotated[str, Field(max_length=300, pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")]


class InstitutionSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    allowed_origins: list[Origin] | None = Field(
        default=None, max_length=50,
        description="origins (scheme://host[:port]) whose pages may call the browser endpoints "
        "with a session token (CORS); omitted = unchanged, [] = none")


class InstitutionOut(BaseModel):
    name: str
    county_code: str
    callback_url: str | None
    allowed_origins: list[str] = Field(default_factory=list)
