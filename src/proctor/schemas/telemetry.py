"""Study sessions and telemetry events (CONTRACT §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from proctor.schemas.common import ExtId

Position = Annotated[float, Field(ge=0, le=7 * 24 * 3600, allow_inf_nan=False)]


class ClientInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    user_agent: str | None = Field(default=None, max_length=500)
    device_id: str | None = Field(default=None, max_length=200)
    ip: str | None = Field(default=None, max_length=64)


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    learner_id: ExtId
    course_id: ExtId
    lesson_id: ExtId
    client: ClientInfo = Field(default_factory=ClientInfo)


class SessionOut(BaseModel):
    session_id: str
    learner_id: str
    course_id: str
    lesson_id: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    next_challenge_at: datetime | None = Field(
        description="when the service next expects a challenge to be fetched (the opening "
        "liveness check is due at once)"
    )
    challenge_url: str
    session_token: str | None = Field(
        default=None, description="for the learner's browser (docs/sdk.md): a short-lived token "
        "that reaches this session only; returned when the session is opened")
    session_token_expires_at: datetime | None = None


class _EventBase(BaseModel):
    # New optional fields are allowed (the contract grows by adding); they are kept as `extra`.
    model_config = ConfigDict(extra="allow")

    id: ExtId
    session_id: Annotated[str, Field(min_length=1, max_length=64)]
    seq: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    ts: AwareDatetime


class PositionEvent(_EventBase):
    type: Literal["play", "pause", "lesson.complete"]
    position: Position


class SeekEvent(_EventBase):
    type: Literal["seek"]
    from_: Position = Field(alias="from")
    to: Position


class RateChangeEvent(_EventBase):
    type: Literal["ratechange"]
    rate: Annotated[float, Field(gt=0, le=16, allow_inf_nan=False)]


class HeartbeatEvent(_EventBase):
    type: Literal["heartbeat"]
    position: Position
    rate: Annotated[float, Field(gt=0, le=16, allow_inf_nan=False)]
    visible: StrictBool
    focused: StrictBool


class VisibilityEvent(_EventBase):
    type: Literal["visibility"]
    state: Literal["hidden", "visible"]


class FocusEvent(_EventBase):
    type: Literal["focus"]
    state: Literal["blur", "focus"]


class SessionEndEvent(_EventBase):
    type: Literal["session.end"]


EventIn = Annotated[
    PositionEvent | SeekEvent | RateChangeEvent | HeartbeatEvent | VisibilityEvent | FocusEvent
    | SessionEndEvent,
    Field(discriminator="type"),
]
EVENT_TYPES = (
    "play", "pause", "seek", "ratechange", "heartbeat", "visibility", "focus",
    "lesson.complete", "session.end",
)


class RejectedEvent(BaseModel):
    index: int = Field(description="position of the event in the batch, from 0")
    id: str | None
    field: str | None
    reason: str


class IngestOut(BaseModel):
    received: int
    accepted: int = Field(description="events stored now")
    duplicates: int = Field(description="events already stored earlier (same id): harmless")
    rejected: list[RejectedEvent]
