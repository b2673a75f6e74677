"""Property tests: bounds on credit, honest noise never invalidates, hidden jumps are always
caught, and the verdict depends on the evidence only (not on arrival order or duplicates)."""

from __future__ import annotations

import dataclasses
import random

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from proctor.domain.engine import evaluate
from proctor.domain.model import Event, SessionInput
from proctor.domain.policy import Policy, load_policy
from tests.domain.script import LESSON, T0, Script

POLICY = load_policy("henan-2021")
# at most this much looking away within any window of playback the share rule reads
HONEST_AWAY_S = 0.75 * POLICY.unfocused_share_min_s
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

event_types = st.sampled_from(["play", "pause", "seek", "ratechange", "heartbeat",
                               "visibility", "focus", "lesson.complete", "session.end"])


@st.composite
def arbitrary_events(draw: st.DrawFn) -> list[Event]:
    n = draw(st.integers(0, 60))
    t = T0
    out = []
    for seq in range(1, n + 1):
        t += draw(st.floats(0, 120))
        pos = draw(st.floats(-10, 4000))
        out.append(Event(seq, draw(event_types), t + draw(st.floats(-5, 5)),
                         t + draw(st.floats(0, 400)), position=pos,
                         from_pos=draw(st.floats(0, 3000)), to_pos=draw(st.floats(0, 3000)),
                         rate=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, None])),
                         visible=draw(st.booleans()), focused=draw(st.booleans()),
                         state=draw(st.sampled_from(["hidden", "visible", "blur", "focus",
                                                     None]))))
    return out


@SETTINGS
@given(arbitrary_events())
def test_credit_never_exceeds_wall_time_or_media(events: list[Event]) -> None:
    session = SessionInput("S", "A", LESSON, Script().session().course, events,
                           ended_at=T0 + 10**6)
    verdict = evaluate(session, POLICY)
    assert 0 <= verdict.credited_seconds <= verdict.played_seconds + 1e-6
    assert verdict.credited_seconds <= LESSON.duration_s + 1e-6
    for a, b in verdict.covered:
        assert 0 <= a < b <= LESSON.duration_s


def _noisy_honest(rng: random.Random, *, jump: float = 0.0) -> Script:
    """A learner with random pauses, stalls, seek-backs, blurs and lost heartbeats.

    Each look away is short (under the per-stretch tolerances), and so is their sum: an honest
    learner glances at a notification now and then, but is not away for a quarter of every ten
    minutes of playback (that is the 多窗口学习 the share rule catches; see docs/rules.md).
    """
    s = Script(skew=rng.uniform(-7200, 7200), delay=rng.uniform(0.05, 30)).play()
    jump_done = jump == 0.0
    away: list[tuple[float, float]] = []  # (playback when a look away began, its length)

    def look_away(length: float) -> bool:
        recent = sum(d for at, d in away if s.playback - at < POLICY.unfocused_share_window_s)
        if recent + length >= HONEST_AWAY_S:
            return False
        away.append((s.playback, length))
        return True

    while s.playback < 1500:
        r = rng.random()
        if r < 0.1:
            s.pause().wait(rng.uniform(1, 600)).play()
        elif r < 0.2:
            s.wait(rng.uniform(1, 8), stall=True)
        elif r < 0.3 and s.pos > 40:
            s.seek(s.pos - rng.uniform(1, 30))
        elif r < 0.4:
            length = rng.uniform(0.5, POLICY.blur_tolerance_s - 1)
            if look_away(length):
                s.blur().wait(length).focus()
        elif r < 0.45:
            length = rng.uniform(0.5, POLICY.hidden_tolerance_s - 1)
            if look_away(length):
                s.hide().wait(length).show()
        elif r < 0.5:
            s.wait(rng.uniform(10, 45), heartbeat=rng.uniform(10, 45))  # lost heartbeats
        elif not jump_done and s.playback > 600:
            s.jump(jump)
            jump_done = True
        s.wait(rng.uniform(5, 60))
    return s.pause().end()


def _perturb(events: list[Event], rng: random.Random) -> list[Event]:
    """Reorder, duplicate, float noise in positions and rates."""
    out = []
    for e in events:
        noise = rng.gauss(0, 0.02)
        e = Event(e.seq, e.type, round(e.client_ts, 3), e.server_ts,
                  None if e.position is None else e.position + noise, e.from_pos, e.to_pos,
                  None if e.rate is None else e.rate * (1 + rng.gauss(0, 1e-7)),
                  e.visible, e.focused, e.state)
        out.append(e)
        if rng.random() < 0.05:
            out.append(Event(e.seq, e.type, e.client_ts, e.server_ts + rng.uniform(0, 60),
                             e.position, e.from_pos, e.to_pos, e.rate, e.visible, e.focused,
                             e.state))
    rng.shuffle(out)
    return out


@SETTINGS
@given(st.integers(0, 2**32))
@example(1353)  # once judged MULTI_WINDOW: 157 s of 600 s away, a sum the generator now bounds
def test_honest_noise_never_invalidates(seed: int) -> None:
    rng = random.Random(seed)
    s = _noisy_honest(rng)
    clean = s.session()
    assert evaluate(clean, POLICY).status == "valid", evaluate(clean, POLICY).violations
    noisy = s.session()
    noisy = SessionInput(**{**_fields(noisy), "events": _perturb(list(s.events), rng)})
    verdict = evaluate(noisy, POLICY)
    assert verdict.status == "valid", [v.detail for v in verdict.violations]


@SETTINGS
@given(st.integers(0, 2**32), st.floats(0.0, 600.0))
def test_any_hidden_jump_beyond_tolerance_is_flagged(seed: int, extra: float) -> None:
    pol: Policy = POLICY
    jump = pol.drift_tolerance_s + pol.seek_tolerance_s + 0.5 + extra
    s = _noisy_honest(random.Random(seed), jump=jump)
    verdict = evaluate(s.session(), pol)
    assert "FAST_FORWARD" in verdict.rules_broken


@SETTINGS
@given(st.integers(0, 2**32))
def test_same_evidence_same_verdict(seed: int) -> None:
    rng = random.Random(seed)
    s = _noisy_honest(rng, jump=rng.choice([0.0, 200.0]))
    base = s.session()
    again = SessionInput(**{**_fields(base), "events": _shuffled_dupes(list(s.events), rng)})
    assert evaluate(base, POLICY).to_dict() == evaluate(base, POLICY).to_dict()
    assert evaluate(base, POLICY).to_dict() == evaluate(again, POLICY).to_dict()


def _shuffled_dupes(events: list[Event], rng: random.Random) -> list[Event]:
    out = events + [e for e in events if rng.random() < 0.1]  # exact re-sends
    rng.shuffle(out)
    return out


def _fields(s: SessionInput) -> dict[str, object]:
    return {f.name: getattr(s, f.name) for f in dataclasses.fields(SessionInput)}
