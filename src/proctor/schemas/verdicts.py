"""Challenges and what the service answers (CONTRACT §3, §4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from proctor.domain.model import Status
from proctor.schemas.paperwork import LeaveOut


class ChallengeOut(BaseModel):
    challenge_id: str
    kind: str = Field(description="confirm | photo | liveness")
    prompt: str = Field(description="what to show the learner, in Chinese (one language)")
    code: str | None = Field(default=None, description="confirm: the digits the learner types "
                             "(also inside the prompt), for clients that lay the popup out")
    issued_at: datetime
    expires_at: datetime
    action: str | None = Field(default=None, description="liveness: blink, turn_left, turn_right, "
                               "open_mouth")
    frames: list[int] | None = Field(default=None, description="liveness: min and max frames")
    frame_interval_ms: int | None = Field(
        default=None, description="liveness: the spacing of the burst's frames the client should use")
    answer_url: str


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=200)
    answered_at: AwareDatetime


class AnswerOut(BaseModel):
    challenge_id: str
    outcome: str = Field(description="passed | failed | expired")


class ViolationOut(BaseModel):
    rule: str
    check: str = Field("", description="which check of the rule found it (docs/rules.md)")
    at: datetime
    until: datetime
    detail: str
    evidence: list[dict[str, Any]]


class VerdictOut(BaseModel):
    session_id: str
    status: Status = Field(description="pending | valid | invalid | under_review")
    credited_seconds: float
    violations: list[ViolationOut]
    policy_id: str
    policy_version: str
    evaluated_at: datetime | None
    pending_reasons: list[str] = []


class LessonStatusOut(BaseModel):
    lesson_id: str
    seq: int
    status: str = Field(description="valid | invalid | pending | incomplete")
    credited_seconds: float
    credited_class_hours: float
    photos_kept: int
    reasons: list[str]
    superseded_sessions: list[str] = Field(
        default=[], description="invalid sittings made up (补学): kept as evidence, no longer tainting")
    leaves: list[LeaveOut] = Field(default=[], description="leaves (请假) recorded for the lesson")


class ReasonOut(BaseModel):
    code: str
    message_zh: str
    message_en: str


class ExamWindowOut(BaseModel):
    starts_on: str
    ends_on: str
    label_zh: str
    label_en: str


class EnrolmentStatusOut(BaseModel):
    learner_id: str
    course_id: str
    lessons: list[LessonStatusOut]
    credited_class_hours: float
    required_class_hours: float
    exam_eligible: bool
    reasons: list[ReasonOut] = Field(description="why not eligible (empty when eligible)")
    next_exam_window: ExamWindowOut = Field(description="offline exams: April, August, December")
    policy_version: str
