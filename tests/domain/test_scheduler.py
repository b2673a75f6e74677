"""The challenge scheduler: gaps always bounded, moments spread (not fixed offsets)."""

from __future__ import annotations

import random
import statistics

import pytest

from proctor.domain.model import Challenge, Lesson
from proctor.domain.policy import Policy
from proctor.domain.scheduler import due_challenge, max_planned_gap, plan_session

LESSON = Lesson("L", 1, 2600.0, 1.0)
TWO_HOURS = Lesson("L2", 2, 5000.0, 2.0)


@pytest.mark.parametrize("lesson", [LESSON, TWO_HOURS])
def test_no_planned_gap_exceeds_the_bound(policy: Policy, lesson: Lesson) -> None:
    bound = max_planned_gap(policy)
    assert bound <= policy.popup_max_gap_s - policy.challenge_expiry_s
    for seed in range(500):
        plan = plan_session(random.Random(seed), policy, lesson)
        moments = [m.at_playback_s for m in plan.moments]
        assert plan.moments[0].kind == "liveness"
        assert moments[0] == 0.0
        assert moments == sorted(moments)
        assert moments[-1] >= plan.horizon_s
        assert max(b - a for a, b in zip(moments, moments[1:], strict=False)) <= bound + 1e-9


def test_one_photo_per_class_hour_uniform_inside_it(policy: Policy) -> None:
    hour, edge = policy.class_hour_s, policy.photo_edge_margin_s
    firsts = []
    for seed in range(2000):
        plan = plan_session(random.Random(seed), policy, TWO_HOURS)
        photos = [m.at_playback_s for m in plan.moments if m.kind == "photo"]
        for k, at in enumerate(photos):
            assert k * hour + edge <= at <= (k + 1) * hour - edge
        firsts.append(photos[0])
    # spread: the draws fill their window evenly (10 bins, chi-square far below the 0.1 %
    # critical value 27.9 for 9 degrees of freedom), so no fixed offset to learn
    lo, hi = edge, hour - edge
    bins = [0] * 10
    for x in firsts:
        bins[min(int((x - lo) / (hi - lo) * 10), 9)] += 1
    expected = len(firsts) / 10
    chi2 = sum((b - expected) ** 2 / expected for b in bins)
    assert chi2 < 27.9, bins
    assert statistics.pstdev(firsts) > (hi - lo) / 4


def test_confirm_moments_are_not_fixed_offsets(policy: Policy) -> None:
    seconds = [plan_session(random.Random(s), policy, LESSON).moments[1].at_playback_s
               for s in range(300)]
    assert len({round(x) for x in seconds}) > 100
    assert min(seconds) >= policy.scheduler_min_gap_s - 1e-9


def test_first_photo_meets_a_resuming_learner(policy: Policy) -> None:
    covered = LESSON.duration_s - 600
    for seed in range(200):
        plan = plan_session(random.Random(seed), policy, LESSON, covered_s=covered)
        first = next(m for m in plan.moments if m.kind == "photo")
        assert first.at_playback_s <= 600 - policy.photo_edge_margin_s + 1e-9


def _issue(plan_index: int | None, kind: str, at: float, playback: float,
           outcome: str = "passed") -> Challenge:
    return Challenge(f"c{at}", kind, at, at + 60, at + 2 if outcome == "passed" else None,
                     outcome, playback, plan_index)


def test_due_sequence(policy: Policy) -> None:
    plan = plan_session(random.Random(7), policy, LESSON)
    t = 1000.0
    due = due_challenge(plan, [], 0.0, t, policy)
    assert due is not None
    assert due.kind == "liveness"
    assert due.plan_index == 0
    pending_live = _issue(0, "liveness", t, 0.0, "pending")
    assert due_challenge(plan, [pending_live], 0.0, t + 5, policy) is None  # one at a time
    issued = [_issue(0, "liveness", t, 0.0)]
    first = plan.moments[1]
    assert due_challenge(plan, issued, first.at_playback_s - 1, t + 100, policy) is None
    due = due_challenge(plan, issued, first.at_playback_s, t + 100, policy)
    assert due is not None
    assert due.plan_index == 1
    assert due.kind == first.kind


def test_failed_photo_is_retried_and_failed_liveness_blocks(policy: Policy) -> None:
    plan = plan_session(random.Random(3), policy, LESSON)
    live_failed = [_issue(0, "liveness", 0.0, 0.0, "failed")]
    due = due_challenge(plan, live_failed, 50.0, 100.0, policy)
    assert due is not None
    assert due.kind == "liveness"
    assert due.plan_index is None
    photo = next(m for m in plan.moments if m.kind == "photo")
    issued = [_issue(0, "liveness", 0.0, 0.0),
              _issue(photo.index, "photo", 500.0, photo.at_playback_s, "expired")]
    due = due_challenge(plan, issued, photo.at_playback_s + 70, 600.0, policy)
    assert due is not None
    assert due.kind == "photo"
    assert due.plan_index is None


def test_safety_confirm_when_playback_runs_past_the_plan(policy: Policy) -> None:
    plan = plan_session(random.Random(3), policy, LESSON)
    issued = [_issue(m.index, m.kind, m.at_playback_s, m.at_playback_s) for m in plan.moments]
    beyond = plan.horizon_s + 10 * policy.popup_max_gap_s
    due = due_challenge(plan, issued, beyond, beyond, policy)
    assert due is not None
    assert due.kind == "confirm"
    assert due.plan_index is None
