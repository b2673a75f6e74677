"""The engine driver: runs virtual learners against the scheduler and the rule engine
in-process (no HTTP, no database), and tallies what each rule flagged."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from proctor.domain.engine import evaluate
from proctor.domain.model import (
    Challenge,
    Course,
    Event,
    Lesson,
    OtherSession,
    PhotoOutcome,
    PriorLesson,
    SessionInput,
    Verdict,
)
from proctor.domain.policy import Policy
from proctor.domain.scheduler import due_challenge, plan_session
from proctor.simulation.delivery import Delivered, deliver
from proctor.simulation.learner import ChallengeView, RawEvent, SessionScript, act_session
from proctor.simulation.scenarios import CHEATS, HONEST, Behaviour

BASE_T = 1_700_000_000.0

# what the face pipeline says about each kind of frame a learner can send
_FRAME_OUTCOME = {
    "self": ("match", (0.25, 0.5)),
    "poor_quality": ("poor_quality", None),
    "nobody": ("no_face", None),
    "two": ("multiple_faces", None),
    "replay": ("spoof", (0.3, 0.5)),
    "other": ("mismatch", (0.8, 1.0)),
}


class EngineGateway:
    """The service's challenge side, in-process: the real scheduler, answers judged at once."""

    def __init__(self, session_id: str, policy: Policy, lesson: Lesson, rng: random.Random,
                 *, covered_s: float = 0.0) -> None:
        self.session_id = session_id
        self.policy = policy
        self.rng = rng
        self.plan = plan_session(rng, policy, lesson, covered_s=covered_s)
        self.challenges: list[Challenge] = []
        self.photos: list[PhotoOutcome] = []

    def _expire(self, now: float) -> None:
        self.challenges = [replace(c, outcome="expired")
                           if c.outcome == "pending" and now > c.expires_at else c
                           for c in self.challenges]

    def tick(self, now: float, events: Sequence[RawEvent]) -> None:
        """In-process, the events are judged after the sitting: nothing to deliver now."""

    def poll(self, now: float, playback_s: float) -> ChallengeView | None:
        self._expire(now)
        due = due_challenge(self.plan, self.challenges, playback_s, now, self.policy)
        if due is None:
            return None
        c = Challenge(id=f"{self.session_id}-c{len(self.challenges) + 1}", kind=due.kind,
                      issued_at=now, expires_at=now + self.policy.challenge_expiry_s,
                      issued_playback_s=playback_s, plan_index=due.plan_index)
        self.challenges.append(c)
        return ChallengeView(c.id, c.kind, c.issued_at, c.expires_at)

    def _settle(self, challenge_id: str, at: float, passed: bool) -> None:
        self.challenges = [
            replace(c, answered_at=at,
                    outcome=("expired" if at > c.expires_at else
                             "passed" if passed else "failed"))
            if c.id == challenge_id else c
            for c in self.challenges
        ]

    def answer_confirm(self, challenge_id: str, at: float) -> None:
        self._settle(challenge_id, at, True)

    def answer_frames(self, challenge_id: str, at: float, frames: Sequence[str]) -> None:
        outcomes = []
        for i, frame in enumerate(frames):
            outcome, dist = _FRAME_OUTCOME[frame]
            distance = self.rng.uniform(*dist) if dist else None
            self.photos.append(PhotoOutcome(f"{challenge_id}-p{i + 1}", challenge_id,
                                            at - (len(frames) - 1 - i) * 2.0, outcome, distance))
            outcomes.append(outcome)
        allowed = outcomes[: self.policy.photo_retry_allowance + 1]
        passed = "match" in allowed and not set(outcomes) & set(self.policy.fatal_photo_outcomes)
        self._settle(challenge_id, at, passed)

    def close(self, now: float) -> None:
        self._expire(now)


@dataclass(frozen=True, slots=True)
class SimResult:
    scenario: str
    expect: tuple[str, ...]
    verdict: Verdict
    events: int


def _course(rng: random.Random, n: int = 5) -> Course:
    lessons = []
    for i in range(n):
        if rng.random() < 0.15:
            lessons.append(Lesson(f"L{i + 1}", i + 1, rng.uniform(4800, 5200), 2.0))
        else:
            lessons.append(Lesson(f"L{i + 1}", i + 1, rng.uniform(2400, 2700), 1.0))
    return Course("C1", tuple(lessons), sum(x.class_hours for x in lessons))


def _events(delivered: Sequence[Delivered]) -> list[Event]:
    return [Event(seq=d.raw.seq, type=d.raw.type, client_ts=d.client_ts, server_ts=d.server_ts,
                  position=d.raw.position, from_pos=d.raw.from_pos, to_pos=d.raw.to_pos,
                  rate=d.raw.rate, visible=d.raw.visible, focused=d.raw.focused,
                  state=d.raw.state)
            for d in delivered]


@dataclass(slots=True)
class _Run:
    session_id: str
    lesson: Lesson
    script: SessionScript
    gateway: EngineGateway
    events: list[Event]
    prior_covered: tuple[tuple[float, float], ...]


def _sitting(b: Behaviour, sid: str, lesson: Lesson, start_t: float, policy: Policy,
             rng: random.Random, *, resume: float = 0.0) -> _Run:
    covered_s = resume * lesson.duration_s
    gateway = EngineGateway(sid, policy, lesson, rng, covered_s=covered_s)
    script = act_session(b, lesson.duration_s, covered_s, start_t, rng, gateway)
    gateway.close(script.closed_at + policy.challenge_expiry_s + 1)
    delivered = deliver(script.events, b, rng, opened_at=script.opened_at,
                        closed_at=script.closed_at)
    prior = ((0.0, covered_s),) if covered_s else ()
    return _Run(sid, lesson, script, gateway, _events(delivered), prior)


def simulate_one(b: Behaviour, index: int, policy: Policy, rng: random.Random) -> SimResult:
    session = session_input_for(b, index, policy, rng)
    now = (session.ended_at or 0.0) + policy.challenge_expiry_s + 1
    return SimResult(b.name, b.expect, evaluate(session, policy, now=now), len(session.events))


def session_input_for(b: Behaviour, index: int, policy: Policy,
                      rng: random.Random) -> SessionInput:
    """Act out one sitting of ``b`` and gather what the service would hand the engine."""
    course = _course(rng)
    lesson = course.lessons[rng.randrange(1, len(course.lessons))]
    start_t = BASE_T + index * 20_000.0
    honest = not b.expect
    resume = rng.choice([0.3, 0.5, 0.7]) if honest and rng.random() < 0.15 else 0.0
    run = _sitting(b, f"s{index}", lesson, start_t, policy, rng, resume=resume)
    others: list[OtherSession] = []
    if b.second_tab:
        other_lesson = next(x for x in course.lessons if x.id != lesson.id)
        twin = _sitting(replace(HONEST, name="twin"), f"s{index}b", other_lesson,
                        start_t + rng.uniform(0, 300), policy, rng)
        twin_verdict = evaluate(_input(twin, course, start_t, []), policy)
        others.append(OtherSession(twin.session_id, twin_verdict.playing))
    elif honest and rng.random() < 0.3:  # the sitting right before, on another lesson
        others.append(OtherSession("previous", ((start_t - 3000.0, start_t - 1.0),)))
    earlier = course.earlier_lessons(lesson)
    priors = {x.id: PriorLesson(x.id, "valid", start_t - 3600.0) for x in earlier}
    if b.out_of_order:
        skipped = earlier[-1].id
        priors[skipped] = PriorLesson(skipped, "incomplete", None)
    return _input(run, course, start_t, others, priors)


def _input(run: _Run, course: Course, start_t: float, others: list[OtherSession],
           priors: dict[str, PriorLesson] | None = None) -> SessionInput:
    if priors is None:
        priors = {x.id: PriorLesson(x.id, "valid", start_t - 3600.0)
                  for x in course.earlier_lessons(run.lesson)}
    return SessionInput(
        session_id=run.session_id, learner_id="learner", lesson=run.lesson, course=course,
        events=run.events, challenges=tuple(run.gateway.challenges),
        photos=tuple(run.gateway.photos), other_sessions=tuple(others), prior_lessons=priors,
        prior_covered=run.prior_covered, started_at=run.script.opened_at,
        ended_at=run.script.closed_at,
    )


def run_simulation(honest: int, cheats: int, seed: int, policy: Policy,
                   scenarios: Sequence[Behaviour] = CHEATS) -> list[SimResult]:
    """``honest`` honest sittings, then ``cheats`` sittings of each cheat scenario."""
    rng = random.Random(seed)
    results = []
    index = 0
    for _ in range(honest):
        results.append(simulate_one(HONEST, index, policy, rng))
        index += 1
    for b in scenarios:
        for _ in range(cheats):
            results.append(simulate_one(b, index, policy, rng))
            index += 1
    return results
