"""Challenge scheduling (CONTRACT §3), pure: the randomness comes in as an argument.

The service passes ``secrets.SystemRandom()`` so that nobody can predict a moment; tests and
the simulator pass a seeded ``random.Random``. Moments are in *playback seconds* of the
session (paused time does not move the schedule), so a learner who pauses is never asked to
answer while away.

The plan:
- a ``liveness`` challenge at playback 0 (the session opens with it);
- one ``photo`` moment per class hour of playback, uniform inside the class hour (kept
  ``photo_edge_margin_s`` from its edges; the first class hour is shortened to what is left of
  the lesson so a learner resuming near the end still meets one);
- ``confirm`` moments in between, each gap drawn uniformly in
  [``scheduler_min_gap_s``, ``popup_max_gap_s`` - ``scheduler_margin_s``]; a photo moment
  falling inside a gap takes the place of the confirm. So no planned gap exceeds the bound,
  while the times stay unpredictable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from proctor.domain.model import Challenge, Lesson
from proctor.domain.policy import Policy


class RandomSource(Protocol):
    """What the scheduler needs of a random generator (``random.Random`` and
    ``secrets.SystemRandom`` both fit)."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class PlannedChallenge:
    index: int
    kind: str  # confirm | photo | liveness
    at_playback_s: float


@dataclass(frozen=True, slots=True)
class ChallengePlan:
    moments: tuple[PlannedChallenge, ...]
    horizon_s: float  # playback seconds the plan covers; the safety rule covers beyond


@dataclass(frozen=True, slots=True)
class Due:
    """A challenge to issue now (the service creates it with issued_at=now)."""

    kind: str
    plan_index: int | None  # None: a retry or a safety challenge
    reason: str


def max_planned_gap(policy: Policy) -> float:
    return policy.popup_max_gap_s - policy.scheduler_margin_s


def draw_photo_moments(
    rng: RandomSource, policy: Policy, lesson: Lesson, *, covered_s: float = 0.0,
    horizon_s: float,
) -> list[float]:
    hour = policy.class_hour_s
    edge = policy.photo_edge_margin_s
    remaining = max(lesson.duration_s - covered_s, 0.0)
    moments = []
    for k in range(max(1, math.ceil(horizon_s / hour))):
        lo = k * hour + edge
        hi = (k + 1) * hour - edge
        if k == 0:  # meet a resuming learner before the lesson runs out
            hi = min(hi, max(remaining - edge, lo + edge))
        moments.append(rng.uniform(lo, hi))
    return moments


def plan_session(
    rng: RandomSource, policy: Policy, lesson: Lesson, *, covered_s: float = 0.0
) -> ChallengePlan:
    """Draw a session's challenge moments. ``covered_s``: media already covered by earlier
    sessions of this lesson (shortens the window of the first photo)."""
    horizon = max(lesson.duration_s * policy.plan_horizon_factor, policy.class_hour_s)
    photos = draw_photo_moments(rng, policy, lesson, covered_s=covered_s, horizon_s=horizon)
    longest = max_planned_gap(policy)
    shortest = policy.scheduler_min_gap_s
    moments: list[tuple[str, float]] = [("liveness", 0.0)]
    prev = 0.0
    pi = 0
    while prev < horizon:
        nxt = prev + rng.uniform(shortest, longest)
        if pi < len(photos) and photos[pi] <= nxt:
            # the photo moment replaces this confirm; photos never come closer than needed
            at = max(photos[pi], prev)
            moments.append(("photo", at))
            pi += 1
            prev = at
            continue
        moments.append(("confirm", nxt))
        prev = nxt
    planned = tuple(PlannedChallenge(i, kind, at) for i, (kind, at) in enumerate(moments))
    return ChallengePlan(planned, horizon)


def due_challenge(
    plan: ChallengePlan, issued: Sequence[Challenge], playback_s: float, now: float,
    policy: Policy,
) -> Due | None:
    """Which challenge to issue now, if any, given the playback progress so far.

    One challenge at a time; a failed or expired challenge is retried at once with its kind
    (a photo must still be kept, a liveness must still open the session); planned moments are
    issued when playback reaches them; and a safety ``confirm`` is issued whenever playback
    since the last passed challenge nears the bound (e.g. after a late answer)."""
    latest: Challenge | None = None
    done_plan: set[int] = set()
    last_passed_at = -1.0
    liveness_passed = False
    for c in issued:
        if c.outcome == "pending" and now <= c.expires_at:
            return None  # one open challenge at a time
        if c.plan_index is not None:
            done_plan.add(c.plan_index)
        if latest is None or c.issued_at >= latest.issued_at:
            latest = c
        if c.outcome == "passed":
            if c.kind == "liveness":
                liveness_passed = True
            if c.issued_playback_s is not None:
                last_passed_at = max(last_passed_at, c.issued_playback_s)
    if not liveness_passed:  # the player holds playback until it passes
        first = 0 not in done_plan
        return Due("liveness", 0 if first else None,
                   "session opens" if first else "retry liveness")
    if latest is not None and latest.outcome in ("failed", "expired") \
            and latest.kind in ("photo", "liveness"):
        return Due(latest.kind, None, f"retry after {latest.outcome} {latest.kind}")
    for m in plan.moments:
        if m.index not in done_plan and m.at_playback_s <= playback_s and m.kind != "liveness":
            return Due(m.kind, m.index, "drawn moment reached")
    since = playback_s - max(last_passed_at, 0.0)
    if since >= max_planned_gap(policy):
        return Due("confirm", None, f"{since:.0f} s of playback since the last passed challenge")
    return None
