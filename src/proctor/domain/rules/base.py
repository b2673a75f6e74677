"""What every rule receives and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from proctor.domain.model import JSON, Interval, SessionInput, Violation
from proctor.domain.policy import Policy
from proctor.domain.timeline import PlaybackClock, Timeline

FAST_FORWARD = "FAST_FORWARD"
MULTI_WINDOW = "MULTI_WINDOW"
POPUP_GAP = "POPUP_GAP"
FACE_LIVENESS = "FACE_LIVENESS"
LESSON_ORDER = "LESSON_ORDER"
RANDOM_PHOTO = "RANDOM_PHOTO"
LATE_TELEMETRY = "LATE_TELEMETRY"


@dataclass(frozen=True, slots=True)
class RuleContext:
    """One session, normalised once and shared by every rule. ``now`` is the evaluation time
    (the engine never reads a clock)."""

    session: SessionInput
    policy: Policy
    timeline: Timeline
    clock: PlaybackClock
    covered: list[Interval]  # this session's covered media intervals
    now: float


@dataclass(slots=True)
class Findings:
    """A rule's answer: violations, and reasons it cannot decide yet (pending)."""

    violations: list[Violation] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)

    def flag(
        self, rule: str, at: float, until: float, detail: str, evidence: list[JSON] | None = None
    ) -> None:
        self.violations.append(Violation(rule, at, until, detail, tuple(evidence or ())))


Check = Callable[[RuleContext], Findings]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    code: str
    name: str  # which check of the rule family
    check: Check


MAX_EVIDENCE = 5  # events cited per violation; the rest are counted in the detail


def r3(x: float) -> float:
    """Round for evidence and details (millisecond telemetry; keeps JSON readable)."""
    return round(x, 3)
