"""A small language for hand-built session timelines in tests.

``Script`` plays a player forward in wall time: ``play()``, ``wait(s)`` (heartbeats every
10 s, the play head moving at ``speed``), ``pause()``, ``seek(to)``, ``hide()``... and records
events with a client clock ``skew`` and a network ``delay``; ``session()`` wraps them with
passed challenges (a liveness at the start, a confirm every ``confirm_every`` s of playback)
and a kept photo per class hour, so a script only adds the trouble it is about."""

from __future__ import annotations

from dataclasses import dataclass, field

from proctor.domain.model import (
    Challenge,
    Course,
    Event,
    Lesson,
    OtherSession,
    PhotoOutcome,
    PriorLesson,
    SessionInput,
)

T0 = 1_700_000_000.0
LESSON = Lesson("L2", 2, 2500.0, 1.0)
COURSE = Course("C", (Lesson("L1", 1, 2500.0, 1.0), LESSON), 2.0)
PRIORS = {"L1": PriorLesson("L1", "valid", T0 - 3600)}


@dataclass
class Script:
    t: float = T0
    pos: float = 0.0
    skew: float = 0.0
    delay: float = 0.4
    speed: float = 1.0  # true play-head speed
    rate: float = 1.0  # reported
    playing: bool = False
    visible: bool = True
    focused: bool = True
    events: list[Event] = field(default_factory=list)
    playback: float = 0.0
    playback_marks: list[tuple[float, float]] = field(default_factory=list)  # (wall, playback)

    def emit(self, type_: str, **kw: object) -> Script:
        self.events.append(Event(len(self.events) + 1, type_, self.t + self.skew,
                                 self.t + self.delay, **kw))  # type: ignore[arg-type]
        return self

    def play(self) -> Script:
        self.playing = True
        return self.emit("play", position=self.pos)

    def pause(self) -> Script:
        self.playing = False
        return self.emit("pause", position=self.pos)

    def wait(self, seconds: float, *, heartbeat: float = 10.0, stall: bool = False) -> Script:
        left = seconds
        while left > 1e-9:
            step = min(heartbeat, left)
            self.t += step
            left -= step
            if self.playing:
                self.playback += step
                if not stall:
                    self.pos += step * self.speed
            self.playback_marks.append((self.t, self.playback))
            self.emit("heartbeat", position=self.pos, rate=self.rate, visible=self.visible,
                      focused=self.focused)
        return self

    def seek(self, to: float) -> Script:
        self.emit("seek", from_pos=self.pos, to_pos=to)
        self.pos = to
        return self

    def jump(self, delta: float) -> Script:
        """The play head moves with no seek event (a patched player)."""
        self.pos += delta
        return self

    def set_rate(self, rate: float, *, speed: float | None = None) -> Script:
        self.rate = rate
        self.speed = rate if speed is None else speed
        return self.emit("ratechange", rate=rate)

    def hide(self) -> Script:
        self.visible = self.focused = False
        return self.emit("visibility", state="hidden")

    def show(self) -> Script:
        self.visible = self.focused = True
        return self.emit("visibility", state="visible")

    def blur(self) -> Script:
        self.focused = False
        return self.emit("focus", state="blur")

    def focus(self) -> Script:
        self.focused = True
        return self.emit("focus", state="focus")

    def complete(self) -> Script:
        self.playing = False
        return self.emit("lesson.complete", position=self.pos)

    def end(self) -> Script:
        self.playing = False
        return self.emit("session.end")

    def wall_at(self, playback: float) -> float:
        """The wall time when playback reached ``playback`` (approximately, to a heartbeat)."""
        for t, p in self.playback_marks:
            if p >= playback:
                return t
        return self.t

    def session(
        self, *, confirm_every: float | None = 200.0, liveness: bool = True,
        photo: bool = True, challenges: tuple[Challenge, ...] = (),
        photos: tuple[PhotoOutcome, ...] = (), lesson: Lesson = LESSON,
        priors: dict[str, PriorLesson] | None = None, others: tuple[OtherSession, ...] = (),
        ended: bool = True,
    ) -> SessionInput:
        chs = list(challenges)
        phs = list(photos)
        if liveness:
            chs.append(Challenge("live", "liveness", T0, T0 + 60, T0 + 0.1, "passed", 0.0, 0))
            phs.append(PhotoOutcome("live-p", "live", T0 + 0.1, "match", 0.35))
        if confirm_every:
            k = 1
            while k * confirm_every < self.playback:
                at = self.wall_at(k * confirm_every)
                chs.append(Challenge(f"c{k}", "confirm", at - 3, at + 57, at, "passed",
                                     k * confirm_every - 3))
                k += 1
        if photo and self.playback >= 1000:
            at = self.wall_at(1000)
            chs.append(Challenge("ph", "photo", at - 2, at + 58, at, "passed", 998))
            phs.append(PhotoOutcome("ph-p", "ph", at, "match", 0.4))
        return SessionInput(
            session_id="S", learner_id="A", lesson=lesson, course=COURSE, events=self.events,
            challenges=tuple(chs), photos=tuple(phs), other_sessions=others,
            prior_lessons=PRIORS if priors is None else priors, started_at=T0,
            ended_at=self.t if ended else None,
        )


def watch(seconds: float, **kw: object) -> Script:
    """An honest learner watching ``seconds`` from the start."""
    return Script(**kw).play().wait(seconds)  # type: ignore[arg-type]
