"""What a virtual learner does over time: the player's events on the true clock, and the
learner's answers to challenges through a :class:`Gateway`.

Nothing here knows how events reach the service (see :mod:`.delivery`) or who draws the
challenges (the gateway: the in-process scheduler, or the real API)."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from proctor.simulation.scenarios import Behaviour

HEARTBEAT_S = 10.0
THROTTLED_HEARTBEAT_S = 60.0  # Chrome's intensive throttling of hidden tabs (after 5 min)
THROTTLE_AFTER_S = 300.0
POLL_EVERY_S = 5


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A player event as the player saw it: ``t`` is true time (the delivery adds the client's
    clock skew)."""

    seq: int
    type: str
    t: float
    position: float | None = None
    from_pos: float | None = None
    to_pos: float | None = None
    rate: float | None = None
    visible: bool | None = None
    focused: bool | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class ChallengeView:
    id: str
    kind: str
    issued_at: float
    expires_at: float


class Gateway(Protocol):
    """How a learner meets challenges (GET /v1/sessions/{id}/challenge and the answers)."""

    def tick(self, now: float, events: Sequence[RawEvent]) -> None:
        """Time moved on to ``now``; ``events``: everything the player emitted so far (a
        driver that talks to a live service delivers them as time passes)."""

    def poll(self, now: float, playback_s: float) -> ChallengeView | None: ...

    def answer_confirm(self, challenge_id: str, at: float) -> None: ...

    def answer_frames(self, challenge_id: str, at: float, frames: Sequence[str]) -> None: ...


@dataclass(slots=True)
class SessionScript:
    events: list[RawEvent] = field(default_factory=list)
    opened_at: float = 0.0
    closed_at: float = 0.0


@dataclass(slots=True)
class _Player:
    """Mutable player state during one simulated sitting (1-second ticks)."""

    rng: random.Random
    b: Behaviour
    duration: float
    t: float
    pos: float
    script: SessionScript
    seq: int = 0
    playing: bool = False
    hidden: bool = False
    blurred: bool = False
    rate: float = 1.0  # reported
    speed: float = 1.0  # true
    stall_left: float = 0.0

    def emit(self, type_: str, **fields: float | bool | str | None) -> None:
        self.seq += 1
        self.script.events.append(RawEvent(self.seq, type_, self.t, **fields))  # type: ignore[arg-type]

    def noisy(self, x: float) -> float:
        return x + self.rng.gauss(0.0, 0.01) if self.b.honest_noise else x


def act_session(
    b: Behaviour, duration: float, start_pos: float, start_t: float, rng: random.Random,
    gateway: Gateway, *, stop_pos: float | None = None,
) -> SessionScript:
    """Play one sitting of a lesson from ``start_pos`` until its end (or until the cheat
    leaves, or, with ``stop_pos``, until the play head reaches it: the learner pauses and
    leaves, to resume in another sitting), answering challenges as the behaviour says."""
    script = SessionScript(opened_at=start_t)
    p = _Player(rng, b, duration, start_t, start_pos, script)
    honest = b.honest_noise
    slow = honest and not b.expect and rng.random() < 0.05  # some honest learners watch at 0.75
    rewatch = honest and rng.random() < 0.1
    next_hb = start_t + rng.uniform(0.5, HEARTBEAT_S)
    hidden_since: float | None = None
    pause_left = 0.0
    blur_left = 0.0
    hide_left = 0.0
    cheat_left = 0.0
    cheated = False
    started = False
    answered_liveness = not b.poll_challenges
    open_c: tuple[ChallengeView, float, list[str] | None] | None = None
    playback = 0.0
    tick = 0
    limit = duration * 4 + 7200

    while tick < limit:
        tick += 1
        # --- challenges -------------------------------------------------------------------
        if tick % POLL_EVERY_S == 1:
            gateway.tick(p.t, script.events)
        if b.poll_challenges and open_c is None and tick % POLL_EVERY_S == 1:
            view = gateway.poll(p.t, playback)
            if view is not None:
                open_c = (view, p.t + _answer_delay(rng, honest), _frames(view.kind, b, rng))
        if open_c is not None:
            view, answer_at, frames = open_c
            if p.t > view.expires_at:
                open_c = None
            elif p.t >= answer_at:
                if view.kind == "confirm" and b.answer_confirm:
                    gateway.answer_confirm(view.id, p.t)
                elif view.kind != "confirm" and frames is not None:
                    gateway.answer_frames(view.id, p.t, frames)
                else:  # ignored: it stays on screen until it expires
                    open_c = (view, math.inf, frames)
                if open_c[1] != math.inf:
                    if view.kind == "liveness":
                        answered_liveness = True
                    open_c = None
        # --- start once the opening liveness is answered --------------------------------
        if not started:
            if answered_liveness:
                started = True
                if b.reported_rate != 1.0:
                    p.rate = b.reported_rate
                    p.emit("ratechange", rate=p.rate)
                elif slow:
                    p.rate = 0.75
                    p.emit("ratechange", rate=0.75)
                p.speed = b.true_speed if b.true_speed != 1.0 else p.rate
                p.playing = True
                p.emit("play", position=p.noisy(p.pos))
        elif p.playing or pause_left > 0 or cheat_left > 0:
            # --- the cheat ---------------------------------------------------------------
            if not cheated and p.pos >= b.at_fraction * duration and b.expect:
                cheated = True
                cheat_left = _start_cheat(p, b)
                if b.complete_early:
                    p.emit("lesson.complete", position=p.noisy(p.pos))
                    break
            elif cheated and b.flicker and cheat_left > 0:
                phase = int(cheat_left) % 15
                want_hidden = phase >= 3
                if want_hidden != p.hidden:
                    p.hidden = p.blurred = want_hidden
                    p.emit("visibility", state="hidden" if want_hidden else "visible")
            elif cheated and b.hidden_jump_s and 0 < b.hidden_jump_s < 60 \
                    and p.pos < duration - 60 and tick % 30 == 0:
                p.pos += b.hidden_jump_s  # many small hidden jumps
            if cheat_left > 0:
                cheat_left -= 1
                if cheat_left <= 0:
                    _end_cheat(p, b)
            # --- honest noise ------------------------------------------------------------
            if honest and cheat_left <= 0:
                pause_left, blur_left, hide_left = _honest_noise(
                    p, pause_left, blur_left, hide_left)
        # --- advance one second ---------------------------------------------------------
        if p.playing:
            playback += 1.0
            if p.stall_left > 0:
                p.stall_left -= 1
            else:
                p.pos = min(p.pos + p.speed, duration)
        p.t += 1.0
        if p.hidden:
            hidden_since = p.t if hidden_since is None else hidden_since
        else:
            hidden_since = None
        # --- heartbeat (position interpolated at a jittered moment inside the second) -------
        if p.t >= next_hb:
            throttled = hidden_since is not None and p.t - hidden_since > THROTTLE_AFTER_S
            lie = b.lie_visible
            p.emit("heartbeat", position=p.noisy(p.pos), rate=p.rate * (1 + rng.gauss(0, 1e-9)),
                   visible=True if lie else not p.hidden, focused=True if lie else not p.blurred)
            next_hb += THROTTLED_HEARTBEAT_S if throttled and lie else HEARTBEAT_S
        # --- the end of this sitting, or of the media ---------------------------------------
        if p.playing and stop_pos is not None and p.pos >= stop_pos:
            p.emit("pause", position=p.noisy(p.pos))
            p.playing = False
            break
        if p.playing and p.pos >= duration:
            if rewatch:
                rewatch = False
                back = rng.uniform(30, min(300, duration / 2))
                p.emit("seek", from_pos=p.noisy(p.pos), to_pos=p.pos - back)
                p.pos -= back
                continue
            p.emit("lesson.complete", position=p.noisy(duration))
            p.playing = False
            break
        if not p.playing and started and pause_left <= 0 and cheat_left <= 0 and tick > 1 \
                and p.pos < duration:
            p.playing = True
            p.emit("play", position=p.noisy(p.pos))
    p.t += 1.0
    p.emit("session.end")
    script.closed_at = p.t
    return script


def _answer_delay(rng: random.Random, honest: bool) -> float:
    return min(max(rng.lognormvariate(math.log(5.0), 0.6), 1.0), 40.0)


def _frames(kind: str, b: Behaviour, rng: random.Random) -> list[str] | None:
    if kind == "confirm":
        return []
    if kind == "photo" and not b.answer_photo:
        return None
    frame = b.liveness_frame if kind == "liveness" else b.photo_frame
    if frame == "self" and b.honest_noise and rng.random() < 0.05:
        return [rng.choice(["poor_quality", "nobody"]), "self"]  # a bad first frame, retried
    return [frame]


def _start_cheat(p: _Player, b: Behaviour) -> float:
    """Begin the behaviour's cheat; returns how many seconds it lasts (0: instant)."""
    if b.seek_forward_s:
        target = min(p.pos + b.seek_forward_s, p.duration - 1)
        p.emit("seek", from_pos=p.noisy(p.pos), to_pos=target)
        p.pos = target
    elif b.hidden_jump_s >= 60:
        p.pos = min(p.pos + b.hidden_jump_s, p.duration - 1)
    elif b.paused_jump_s:
        p.emit("pause", position=p.noisy(p.pos))
        p.playing = False
        p.pos = min(p.pos + b.paused_jump_s, p.duration - 1)
        return 20.0
    elif b.hidden_s:
        p.hidden = p.blurred = True
        if not b.lie_visible:
            p.emit("visibility", state="hidden")
        return b.hidden_s
    elif b.blur_s:
        p.blurred = True
        p.emit("focus", state="blur")
        return b.blur_s
    elif b.flicker:
        return 1200.0
    elif b.hidden_jump_s:
        return p.duration
    return 0.0


def _end_cheat(p: _Player, b: Behaviour) -> None:
    if b.hidden_s or b.flicker:
        if p.hidden and not b.lie_visible:
            p.emit("visibility", state="visible")
        p.hidden = p.blurred = False
    elif b.blur_s:
        p.blurred = False
        p.emit("focus", state="focus")


def _honest_noise(p: _Player, pause_left: float, blur_left: float,
                  hide_left: float) -> tuple[float, float, float]:
    """Pauses (sometimes with the tab hidden), seek-backs, short blurs and hides, stalls."""
    rng = p.rng
    if pause_left > 0:
        pause_left -= 1
        if pause_left <= 0 and p.hidden:
            p.hidden = p.blurred = False
            p.emit("visibility", state="visible")
        return pause_left, blur_left, hide_left
    if blur_left > 0:
        blur_left -= 1
        if blur_left <= 0:
            p.blurred = False
            p.emit("focus", state="focus")
    if hide_left > 0:
        hide_left -= 1
        if hide_left <= 0:
            p.hidden = p.blurred = False
            p.emit("visibility", state="visible")
    if blur_left > 0 or hide_left > 0:
        return pause_left, blur_left, hide_left
    r = rng.random()
    if r < 1 / 900:
        p.emit("pause", position=p.noisy(p.pos))
        p.playing = False
        pause_left = rng.uniform(5, 240)
        if rng.random() < 0.5:  # away in another tab while paused: never a penalty
            p.hidden = p.blurred = True
            p.emit("visibility", state="hidden")
    elif r < 1 / 900 + 1 / 1200 and p.pos > 40:
        back = rng.uniform(3, 30)
        p.emit("seek", from_pos=p.noisy(p.pos), to_pos=p.pos - back)
        p.pos -= back
    elif r < 1 / 900 + 1 / 1200 + 1 / 300:
        p.blurred = True
        p.emit("focus", state="blur")
        blur_left = rng.uniform(1, 15)
    elif r < 1 / 900 + 1 / 1200 + 1 / 300 + 1 / 1500:
        p.hidden = p.blurred = True
        p.emit("visibility", state="hidden")
        hide_left = rng.uniform(1, 8)
    elif r < 1 / 900 + 1 / 1200 + 1 / 300 + 1 / 1500 + 1 / 400:
        p.stall_left = rng.uniform(1, 8)
    return pause_left, blur_left, hide_left
