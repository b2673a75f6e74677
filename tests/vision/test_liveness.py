"""Active liveness on real frames of the shared Hamilton clip, and frozen/replayed bursts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from proctor.bench import _attacks as attacks
from proctor.vision import passive
from proctor.vision.faces import Outcome
from proctor.vision.liveness import Action, LivenessPolicy, check_active, draw_action
from tests.vision.conftest import load

pytestmark = pytest.mark.face
POLICY = LivenessPolicy()
ENROL_FRAME = 150  # the performer facing the camera; bursts below avoid this frame


def burst(frames, start: int, step: int = 6, n: int = 8) -> list[np.ndarray]:
    """n frames `step` apart (6 frames ≈ 0.2 s at 29.97 fps: 8 frames span ≈ 1.4 s)."""
    return [frames[i] for i in range(start, start + step * n, step)]


@pytest.fixture(scope="session")
def performer(engine, clip_frames) -> np.ndarray:
    enrolment = engine.enrol(clip_frames[ENROL_FRAME])
    assert enrolment.ok, enrolment.reasons
    return enrolment.templates


def test_draw_action_uses_the_callers_randomness():
    first = [draw_action(random.Random(7)) for _ in range(3)]
    assert len(set(first)) == 1  # same seed, same action
    drawn = {draw_action(random.Random(seed)) for seed in range(50)}
    assert drawn == set(Action)


@pytest.mark.parametrize(
    ("start", "action"),
    [
        (84, Action.OPEN_MOUTH),
        (84, Action.TURN_RIGHT),
        (156, Action.TURN_RIGHT),
        (138, Action.TURN_LEFT),
    ],
)
def test_live_burst_showing_the_action_passes(
    engine, landmarker, clip_frames, performer, start, action
):
    result = check_active(engine, landmarker, burst(clip_frames, start), action, performer)
    assert result.outcome is Outcome.MATCH, result.reasons
    assert result.action_seen
    assert result.max_distance is not None
    # several frames, one decision: the burst's mean embedding is within the threshold even
    # when one frame (a turned head) is not
    assert result.burst_distance is not None
    assert result.burst_distance <= LivenessPolicy().match.match_distance


def test_action_in_the_other_direction_is_not_seen(engine, landmarker, clip_frames, performer):
    # frames 84→126 turn the head towards the image's left (the performer's right) only
    result = check_active(engine, landmarker, burst(clip_frames, 84), Action.TURN_LEFT, performer)
    assert result.outcome is Outcome.SPOOF
    assert "action_not_seen:turn_left" in result.reasons


def test_mirrored_client_swaps_left_and_right(engine, landmarker, clip_frames, performer):
    mirrored = LivenessPolicy(mirrored=True)
    frames = burst(clip_frames, 84)
    assert check_active(engine, landmarker, frames, Action.TURN_LEFT, performer, mirrored).passed
    assert not check_active(
        engine, landmarker, frames, Action.TURN_RIGHT, performer, mirrored
    ).passed


@pytest.mark.parametrize("action", list(Action))
def test_frozen_burst_of_one_still_fails(engine, landmarker, clip_frames, performer, action):
    """One real frame sent 8 times, each re-encoded differently, as a cheating client would."""
    still = clip_frames[ENROL_FRAME + 3]
    frames = [attacks.reencoded(still, quality=80 + i, scale=1.0) for i in range(8)]
    result = check_active(engine, landmarker, frames, action, performer)
    assert result.outcome is Outcome.SPOOF
    assert any(r.startswith("frozen_burst") for r in result.reasons)
    assert not result.action_seen


def test_another_person_is_a_mismatch(engine, landmarker, clip_frames):
    obama = engine.enrol(load("ageitgey/examples/obama.jpg")).templates
    result = check_active(engine, landmarker, burst(clip_frames, 84), Action.OPEN_MOUTH, obama)
    assert result.outcome is Outcome.MISMATCH


def test_the_next_performer_in_the_clip_is_a_mismatch(engine, landmarker, clip_frames, performer):
    # from frame ~212 the camera shows another singer: a stand-in taking over mid-burst
    frames = burst(clip_frames, 200, step=3)
    result = check_active(engine, landmarker, frames, Action.OPEN_MOUTH, performer)
    assert result.outcome is Outcome.MISMATCH
    assert any(r.startswith("distance_above_threshold") for r in result.reasons)


def test_burst_size_is_enforced(engine, landmarker, clip_frames, performer):
    result = check_active(engine, landmarker, burst(clip_frames, 84, n=3), Action.BLINK, performer)
    assert not result.passed
    assert result.reasons[0].startswith("frame_count")


def test_real_bursts_move_and_frozen_ones_do_not(clip_frames):
    """The frozen-burst threshold sits between real motion and re-encoding noise, measured."""
    real = [max(passive.burst_motion(burst(clip_frames, s))) for s in range(84, 160, 6)]
    still = clip_frames[ENROL_FRAME]
    frozen = [attacks.reencoded(still, quality=75 + 3 * i, scale=1.0) for i in range(8)]
    assert min(real) > POLICY.min_motion
    assert passive.is_static_burst(frozen, POLICY.min_motion)
