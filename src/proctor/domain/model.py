"""Values the rule engine reads and writes: frozen, slotted, free of I/O.

All times are unix seconds as floats. "Playback seconds" means seconds of wall time during
which the player was playing in one session (paused time never counts); "media seconds" are
positions inside the lesson's video.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import StrEnum
from operator import itemgetter
from typing import Any, Literal, get_args

PhotoVerdict = Literal["match", "mismatch", "no_face", "multiple_faces", "poor_quality", "spoof",
                       "near_duplicate"]
# every verdict the face pipeline gives a photo (a photo with another outcome is not judged yet)
PHOTO_VERDICTS: frozenset[str] = frozenset(get_args(PhotoVerdict))


# --- the status vocabulary (StrEnum: members compare equal to, and store as, their strings) ---

class Status(StrEnum):
    """A session verdict's status. The engine gives valid, invalid or pending; the stored
    verdict's standing status may also be under_review (an overturn awaiting a second review)."""

    VALID = "valid"
    INVALID = "invalid"
    PENDING = "pending"
    UNDER_REVIEW = "under_review"


# statuses a platform acts on (a verdict moving between these is a changed decision)
FINAL_STATUSES: frozenset[str] = frozenset({Status.VALID, Status.INVALID})


class LessonVerdict(StrEnum):
    """A lesson's standing from its sessions (engine.aggregate_lesson)."""

    VALID = "valid"
    INVALID = "invalid"
    PENDING = "pending"
    INCOMPLETE = "incomplete"


class Outcome(StrEnum):
    """A challenge's outcome."""

    PASSED = "passed"
    FAILED = "failed"
    EXPIRED = "expired"
    PENDING = "pending"


class SessionState(StrEnum):
    """A study session's lifecycle."""

    OPEN = "open"
    ENDED = "ended"


class CallbackStatus(StrEnum):
    """A callback in the outbox: pending until delivered, or dead after its last attempt."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"

Interval = tuple[float, float]
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str  # play, pause, seek, ratechange, heartbeat, visibility, focus, lesson.complete, ...
    client_ts: float  # unix seconds, client clock (from the event's RFC 3339 ts)
    server_ts: float  # unix seconds, when the server received it
    position: float | None = None
    from_pos: float | None = None  # seek "from"
    to_pos: float | None = None  # seek "to"
    rate: float | None = None
    visible: bool | None = None
    focused: bool | None = None
    state: str | None = None  # visibility: hidden|visible ; focus: blur|focus


# one event's fields in ``Event`` order (what ``EventColumns.rows`` yields)
EventRow = tuple[int, str, float, float, float | None, float | None, float | None, float | None,
                 bool | None, bool | None, str | None]


@dataclass(frozen=True, slots=True)
class EventColumns:
    """One session's events as one sequence per ``Event`` field, every sequence in the same
    order: how storage reads a course's ~12k events in bulk, without an object per event.
    The engine judges them exactly as the ``Event`` objects they stand for (``of``/``events``)."""

    seq: Sequence[int]
    type: Sequence[str]
    client_ts: Sequence[float]
    server_ts: Sequence[float]
    position: Sequence[float | None]
    from_pos: Sequence[float | None]
    to_pos: Sequence[float | None]
    rate: Sequence[float | None]
    visible: Sequence[bool | None]
    focused: Sequence[bool | None]
    state: Sequence[str | None]

    @classmethod
    def of(cls, events: Sequence[Event]) -> EventColumns:
        return cls(*([getattr(e, name) for e in events] for name in _EVENT_FIELDS))

    def __len__(self) -> int:
        return len(self.seq)

    def rows(self) -> Iterator[EventRow]:
        """Each event's fields, in ``Event`` order."""
        return zip(self.seq, self.type, self.client_ts, self.server_ts, self.position,
                   self.from_pos, self.to_pos, self.rate, self.visible, self.focused, self.state,
                   strict=True)

    def take(self, indexes: Sequence[int]) -> EventColumns:
        """The events at these indexes, in that order."""
        if len(indexes) < 2:  # itemgetter of one index gives the item, not a tuple
            return EventColumns(*([column[i] for i in indexes] for column in self._columns()))
        pick = itemgetter(*indexes)  # one C call per column, not a loop per event
        return EventColumns(*(list(pick(column)) for column in self._columns()))

    def events(self) -> list[Event]:
        return [Event(*row) for row in self.rows()]

    def _columns(self) -> tuple[Sequence[Any], ...]:
        return tuple(getattr(self, name) for name in _EVENT_FIELDS)


_EVENT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Event))
# a session's events, as objects or as columns (the engine reads either)
Events = Sequence[Event] | EventColumns


@dataclass(frozen=True, slots=True)
class Challenge:
    """A popup the service issued. ``issued_playback_s`` is the session's playback progress
    when it was issued; ``plan_index`` names the scheduler's drawn moment it realises (None
    for a safety or retry challenge)."""

    id: str
    kind: str  # confirm | photo | liveness
    issued_at: float
    expires_at: float
    answered_at: float | None = None
    outcome: str = "pending"  # passed | failed | expired | pending
    issued_playback_s: float | None = None
    plan_index: int | None = None


@dataclass(frozen=True, slots=True)
class PhotoOutcome:
    """What the face pipeline said about one frame sent for a photo/liveness challenge."""

    id: str
    challenge_id: str
    taken_at: float
    outcome: str  # a PhotoVerdict: match | mismatch | ... | spoof | near_duplicate
    distance: float | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Lesson:
    id: str
    seq: int
    duration_s: float
    class_hours: float


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    lessons: tuple[Lesson, ...]  # in course order
    required_class_hours: float

    def earlier_lessons(self, lesson: Lesson) -> tuple[Lesson, ...]:
        return tuple(x for x in self.lessons if x.seq < lesson.seq)


@dataclass(frozen=True, slots=True)
class PriorLesson:
    """Where an earlier lesson of the course stood: its status and when it became complete
    (None if it never did)."""

    lesson_id: str
    status: str  # a LessonVerdict
    completed_at: float | None


@dataclass(frozen=True, slots=True)
class OtherSession:
    """Another session of the same learner (any course, any device) and when it played."""

    session_id: str
    playing: tuple[Interval, ...]


@dataclass(frozen=True, slots=True)
class SessionInput:
    """Everything the engine needs about one study session; gathered by the service."""

    session_id: str
    learner_id: str
    lesson: Lesson
    course: Course
    events: Events
    challenges: Sequence[Challenge] = ()
    photos: Sequence[PhotoOutcome] = ()
    other_sessions: Sequence[OtherSession] = ()
    prior_lessons: Mapping[str, PriorLesson] = field(default_factory=dict)
    # media intervals of this lesson already covered by earlier valid sessions (resume point)
    prior_covered: tuple[Interval, ...] = ()
    started_at: float | None = None  # POST /v1/sessions
    ended_at: float | None = None  # session.end received, or closed for idleness


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    at: float
    until: float
    detail: str
    evidence: tuple[JSON, ...] = ()
    check: str = ""  # which check of the rule family found it (RuleSpec.name; set by the engine)

    def to_dict(self) -> JSON:
        return {
            "rule": self.rule,
            "check": self.check,
            "at": self.at,
            "until": self.until,
            "detail": self.detail,
            "evidence": [dict(e) for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # valid | invalid | pending
    credited_seconds: float
    covered: tuple[Interval, ...]  # media intervals verifiably watched (kept even if invalid)
    violations: tuple[Violation, ...]
    policy_id: str
    policy_version: str
    played_seconds: float = 0.0  # wall seconds of playback
    playing: tuple[Interval, ...] = ()  # wall intervals of playback (for overlap checks)
    photos_kept: int = 0  # passed photos taken at drawn moments
    completed: bool = False  # this session's coverage (with earlier ones) completes the lesson
    pending_reasons: tuple[str, ...] = ()

    @property
    def rules_broken(self) -> frozenset[str]:
        return frozenset(v.rule for v in self.violations)

    def to_dict(self) -> JSON:
        return {
            "status": self.status,
            "credited_seconds": self.credited_seconds,
            "covered": [list(iv) for iv in self.covered],
            "violations": [v.to_dict() for v in self.violations],
            "policy_id": self.policy_id,
            "policy_version": self.policy_version,
            "played_seconds": self.played_seconds,
            "playing": [list(iv) for iv in self.playing],
            "photos_kept": self.photos_kept,
            "completed": self.completed,
            "pending_reasons": list(self.pending_reasons),
        }


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A stored session verdict with its times, the input of lesson aggregation."""

    session_id: str
    started_at: float
    ended_at: float | None
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class LessonResult:
    lesson_id: str
    status: str  # a LessonVerdict
    credited_seconds: float
    credited_class_hours: float
    covered: tuple[Interval, ...]
    photos_kept: int
    completed_at: float | None
    reasons: tuple[str, ...] = ()
    superseded: tuple[str, ...] = ()  # invalid sittings made up (补学), kept as evidence

    def to_dict(self) -> JSON:
        return {
            "lesson_id": self.lesson_id,
            "status": self.status,
            "credited_seconds": self.credited_seconds,
            "credited_class_hours": self.credited_class_hours,
            "covered": [list(iv) for iv in self.covered],
            "photos_kept": self.photos_kept,
            "completed_at": self.completed_at,
            "reasons": list(self.reasons),
            "superseded": list(self.superseded),
        }


@dataclass(frozen=True, slots=True)
class CourseResult:
    course_id: str
    credited_class_hours: float
    required_class_hours: float
    complete: bool
    lessons: tuple[LessonResult, ...]

    def to_dict(self) -> JSON:
        return {
            "course_id": self.course_id,
            "credited_class_hours": self.credited_class_hours,
            "required_class_hours": self.required_class_hours,
            "complete": self.complete,
            "lessons": [x.to_dict() for x in self.lessons],
        }
