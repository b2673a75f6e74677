"""Study sessions and telemetry events (CONTRACT §3)."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

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


# Client times must survive being stored and compared: once converted to UTC they fall a day
# inside years 1..9999 (so any offset or rendering stays a valid datetime).
TS_MIN = datetime(1, 1, 2, tzinfo=UTC)
TS_MAX = datetime(9999, 12, 30, tzinfo=UTC)
# Extra JSON fields (kept as evidence): nesting depth and size bounded, strings without NUL or
# lone surrogates, numbers finite and within 64 bits.
EXTRA_MAX_DEPTH = 8
EXTRA_MAX_ITEMS = 256
INT64 = 2**63


def _utc_in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("out of range: must fall within years 1 to 9999 in UTC") from None
    if not TS_MIN <= utc <= TS_MAX:
        raise ValueError("out of range: must fall within years 1 to 9999 in UTC")
    return value


def bad_text(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def extra_problem(extra: dict[str, Any]) -> tuple[str, str] | None:
    """(field, reason) for the first value of ``extra`` that can't be stored faithfully."""
    budget = [EXTRA_MAX_ITEMS]

    def check(value: Any, depth: int) -> str | None:
        budget[0] -= 1
        if budget[0] < 0:
            return f"too many values (at most {EXTRA_MAX_ITEMS} in an event's extra fields)"
        if isinstance(value, str):
            return bad_text(value)
        if isinstance(value, bool) or value is None:
            return None
        if isinstance(value, int):
            return None if -INT64 <= value < INT64 else "integer out of range (64 bits)"
        if isinstance(value, float):
            return None if math.isfinite(value) else "not a finite number"
        if depth >= EXTRA_MAX_DEPTH:
            return f"nested too deep (at most {EXTRA_MAX_DEPTH} levels)"
        if isinstance(value, list):
            items: Any = value
        elif isinstance(value, dict):
            for key in value:
                bad = bad_text(key)
                if bad:
                    return f"a key {bad}"
            items = value.values()
        else:
            return "not a JSON value"
        for item in items:
            bad = check(item, depth + 1)
            if bad:
                return bad
        return None

    for name, value in extra.items():
        bad = bad_text(name) or check(value, 1)
        if bad:
            shown = name if bad_text(name) is None else repr(name)
            return shown, f"{shown}: {bad}"
    return None


def is_session_id(value: str) -> bool:
    """Session ids are the service's own uuids (canonical text); anything else is unknown."""
    if len(value) != 36:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


class _EventBase(BaseModel):
    # New optional fields are allowed (the contract grows by adding); they are kept as `extra`.
    model_config = ConfigDict(extra="allow")

    id: ExtId
    session_id: Annotated[str, Field(min_length=1, max_length=64)]
    seq: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    ts: Annotated[AwareDatetime, AfterValidator(_utc_in_range)]


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


class EventBatchIn(BaseModel):
    """POST /v1/events as documented (OpenAPI): ingest checks each event on its own, so one bad
    event is rejected alone and the rest of the batch is stored."""

    events: Annotated[list[EventIn], Field(min_length=1, max_length=1000)]


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


# --- the fast path of POST /v1/events -------------------------------------------------------
# The same events as EventIn, decoded straight from the body's bytes by msgspec (docs/scaling.md:
# parsing and validating a batch was a quarter of ingest's time). Stricter than EventIn, never
# looser: no extra fields, JSON types only, times in one RFC 3339 form. A batch these refuse,
# for any reason, goes the pydantic way (EventIn), which explains each rejection; so what this
# accepts EventIn accepts with the same values, and the answers to bad input are EventIn's
# (tests/api/test_events_fast.py holds the two side by side).
# ExtId's characters ([A-Za-z0-9._:-]): an id is one of them when stripping them leaves nothing
# (checked after decoding: a pattern here cost msgspec half of its decoding time)
FAST_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
_FastId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_FastPosition = Annotated[float, msgspec.Meta(ge=0, le=7 * 24 * 3600)]
_FastRate = Annotated[float, msgspec.Meta(gt=0, le=16)]
# the forms where datetime.fromisoformat and pydantic's parser agree to the microsecond (ASCII
# digits only); a batch's times are matched at once, joined by newlines: a match per event cost
# more than half of decoding the event
_FAST_TS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"
_FAST_TS_LINES = re.compile(rf"(?:{_FAST_TS}\n)*{_FAST_TS}\Z", re.ASCII)


# What an event's own values are, in this order, as ingest stores them (storage's EVENT_VALUES):
# (position, from, to, rate, visible, focused, state); None where its type has no such field.
EventValues = tuple[float | None, float | None, float | None, float | None, bool | None,
                    bool | None, str | None]


class FastEvent(msgspec.Struct, forbid_unknown_fields=True, tag_field="type"):
    id: _FastId
    session_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    seq: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    ts: str  # parsed after decoding (FAST_TS, then the range EventIn checks)

    def values(self) -> EventValues:
        return (None, None, None, None, None, None, None)


class _FastPositionEvent(FastEvent):
    position: _FastPosition

    def values(self) -> EventValues:
        return (self.position, None, None, None, None, None, None)


class FastPlay(_FastPositionEvent, tag="play"):
    pass


class FastPause(_FastPositionEvent, tag="pause"):
    pass


class FastLessonComplete(_FastPositionEvent, tag="lesson.complete"):
    pass


class FastSeek(FastEvent, tag="seek"):
    from_: _FastPosition = msgspec.field(name="from")
    to: _FastPosition

    def values(self) -> EventValues:
        return (None, self.from_, self.to, None, None, None, None)


class FastRateChange(FastEvent, tag="ratechange"):
    rate: _FastRate

    def values(self) -> EventValues:
        return (None, None, None, self.rate, None, None, None)


class FastHeartbeat(FastEvent, tag="heartbeat"):
    position: _FastPosition
    rate: _FastRate
    visible: bool
    focused: bool

    def values(self) -> EventValues:
        return (self.position, None, None, self.rate, self.visible, self.focused, None)


class FastVisibility(FastEvent, tag="visibility"):
    state: Literal["hidden", "visible"]

    def values(self) -> EventValues:
        return (None, None, None, None, None, None, self.state)


class FastFocus(FastEvent, tag="focus"):
    state: Literal["blur", "focus"]

    def values(self) -> EventValues:
        return (None, None, None, None, None, None, self.state)


class FastSessionEnd(FastEvent, tag="session.end"):
    pass


FAST_EVENTS = (FastPlay, FastPause, FastLessonComplete, FastSeek, FastRateChange, FastHeartbeat,
               FastVisibility, FastFocus, FastSessionEnd)
# each fast event class's type name (its tag), looked up once per event
FAST_TYPE: dict[type[FastEvent], str] = {c: str(c.__struct_config__.tag) for c in FAST_EVENTS}


class FastBatch(msgspec.Struct):
    events: list[FastPlay | FastPause | FastLessonComplete | FastSeek | FastRateChange
                 | FastHeartbeat | FastVisibility | FastFocus | FastSessionEnd]


def event_values(fields: dict[str, Any]) -> EventValues:
    """An EventIn's values (its attributes by name, ``from`` as ``from_``) as ingest stores them."""
    get = fields.get
    return (get("position"), get("from_"), get("to"), get("rate"), get("visible"),
            get("focused"), get("state"))


def fast_times(texts: list[str]) -> list[datetime] | None:
    """FastEvents' times as EventIn reads them, or None if any is not in a fast form (then
    EventIn decides for each)."""
    if not texts:
        return []
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1 or _FAST_TS_LINES.match(joined) is None:
        return None  # (a newline inside a time would have made it two lines)
    parse, out = datetime.fromisoformat, []
    for text in texts:
        try:
            value = parse(text)
        except ValueError:
            return None
        if not 1 < value.year < 9999:  # else any offset keeps it inside TS_MIN..TS_MAX
            try:
                value = _utc_in_range(value)
            except ValueError:
                return None
        out.append(value)
    return out
