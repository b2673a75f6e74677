"""A county reviewer's decisions on a flagged verdict: which apply, where they lead, and what an
overturned verdict credits. Pure: statuses in, statuses out (services.review stores them).

First review of a verdict the rules judged invalid: `confirm_invalid`, or `overturn` (with a
written reason). With a second review for overturns, an overturn leaves the verdict
`under_review` until a different reviewer decides `approve_overturn` (valid) or
`reject_overturn` (invalid, with a reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from proctor.domain.model import Status, Verdict


class Decision(StrEnum):
    CONFIRM_INVALID = "confirm_invalid"
    OVERTURN = "overturn"
    APPROVE_OVERTURN = "approve_overturn"
    REJECT_OVERTURN = "reject_overturn"


class Stage(StrEnum):
    FIRST = "first"
    SECOND = "second"


DECISIONS: dict[Stage, tuple[Decision, ...]] = {
    Stage.FIRST: (Decision.CONFIRM_INVALID, Decision.OVERTURN),
    Stage.SECOND: (Decision.APPROVE_OVERTURN, Decision.REJECT_OVERTURN),
}
NEEDS_REASON: frozenset[Decision] = frozenset({Decision.OVERTURN, Decision.REJECT_OVERTURN})
MAX_REASON = 2000


@dataclass(frozen=True)
class ReviewState:
    """Which form a reviewer gets for a verdict (None: no form) and why not."""

    mode: Stage | None
    closed_reason: str | None

    @property
    def decisions(self) -> tuple[Decision, ...]:
        return DECISIONS[self.mode] if self.mode is not None else ()


@dataclass(frozen=True)
class PastDecision:
    reviewer_id: int
    decision: str


def review_state(*, status: str | None, engine_status: str | None, reviewed: bool,
                 history: Sequence[PastDecision], reviewer_id: int,
                 can_review: bool) -> ReviewState:
    """Where a verdict (``status`` None: not judged yet) stands for reviewer ``reviewer_id``."""
    if not can_review:
        return ReviewState(None, "当前账号只能查看，不能作出复核结论。")
    if status is None or status == Status.PENDING:
        return ReviewState(None, "该会话尚未评估完成。")
    if status == Status.UNDER_REVIEW:
        overturner = next((d.reviewer_id for d in reversed(history)
                           if d.decision == Decision.OVERTURN), None)
        if overturner == reviewer_id:
            return ReviewState(None, "改判须由另一名复核员进行二次复核。")
        return ReviewState(Stage.SECOND, None)
    if engine_status != Status.INVALID:
        return ReviewState(None, "该会话判定有效，无需复核。")
    if reviewed:
        return ReviewState(None, "该会话已复核完毕。")
    return ReviewState(Stage.FIRST, None)


def status_after(decision: Decision, *, second_review_for_overturn: bool) -> Status:
    """The standing status a decision leads to."""
    if decision == Decision.OVERTURN:
        return Status.UNDER_REVIEW if second_review_for_overturn else Status.VALID
    return Status.VALID if decision == Decision.APPROVE_OVERTURN else Status.INVALID


def overturned_credit(verdict: Verdict) -> float:
    """What a verdict overturned to valid credits: the media the engine saw covered, at most the
    seconds actually played (the rules' deductions are lifted, nothing is credited unwatched)."""
    return min(sum(b - a for a, b in verdict.covered), verdict.played_seconds)


def standing_status(status: str) -> Status:
    """The status lesson standing reads: valid and invalid stand, anything else is pending."""
    return Status(status) if status in (Status.VALID, Status.INVALID) else Status.PENDING
