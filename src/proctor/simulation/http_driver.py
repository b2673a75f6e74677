"""The HTTP driver: the same virtual learners, against the real API, in simulated time.

The app runs in-process (FastAPI's TestClient over ASGI) on its own database; every request is
signed by :class:`proctor.client.ProctorClient`; the app's clock (``app.state.clock``) is the
simulation's, so a 45-minute sitting runs in seconds. Per sitting the driver registers what
the platform would (course, learner, enrolment), opens the session, and while the learner acts
(:func:`proctor.simulation.learner.act_session`) it posts each batch when it arrives
(:class:`proctor.simulation.delivery.Courier`), fetches challenges when the learner polls and
answers them as the scenario says. Evaluation runs as in production: Celery tasks (eager,
in-process) on ``lesson.complete`` / ``session.end``, and the beat (`evaluate_idle_sessions`)
once the verdict's wait for events in flight is over; the verdict is then read back with
``GET /v1/sessions/{id}/verdict``.

Photos: the face pipeline is a STAND-IN (:class:`StandInFaces`, writing outcomes through the
storage layer) until the vision endpoints land; :class:`FaceAnswers` is the seam where real
uploads (`POST /v1/challenges/{id}/photo` with image files per frame label) plug in.
"""

from __future__ import annotations

import random
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path
from typing import Any, Protocol

from fastapi.testclient import TestClient

from proctor.client import ProctorClient
from proctor.config import Settings
from proctor.domain.model import Verdict, Violation
from proctor.domain.policy import Policy
from proctor.main import create_app
from proctor.services.registration import issue_platform_key
from proctor.simulation.delivery import Courier, Delivered
from proctor.simulation.engine_driver import _FRAME_OUTCOME, BASE_T, SimResult
from proctor.simulation.face_standin import record_face_outcomes
from proctor.simulation.learner import ChallengeView, RawEvent, act_session
from proctor.simulation.scenarios import CHEATS, HONEST, Behaviour
from proctor.storage.db import unit_of_work
from proctor.storage.migrate import upgrade
from proctor.workers.tasks import evaluate_idle_sessions

LEARNER_SPAN_S = 40_000.0  # simulated time given to each virtual learner
_CODE = re.compile(r"\d{4}")


class SimClock:
    """The server's clock, moved by the simulation (unix seconds)."""

    def __init__(self, t: float = BASE_T) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


class FaceAnswers(Protocol):
    """How a learner's frames for a photo/liveness challenge reach the face pipeline."""

    def submit(self, challenge_id: str, at: float, frames: Sequence[str]) -> None: ...


class StandInFaces:
    """STAND-IN for `POST /v1/challenges/{id}/photo` + the vision task: stores the outcome the
    pipeline would give each frame label (self -> match, replay -> spoof, other -> mismatch, ...)
    through the storage layer."""

    def __init__(self, app: Any, policy: Policy, rng: random.Random) -> None:
        self.app, self.policy, self.rng = app, policy, rng

    def submit(self, challenge_id: str, at: float, frames: Sequence[str]) -> None:
        outcomes = []
        for frame in frames:
            outcome, dist = _FRAME_OUTCOME[frame]
            outcomes.append((outcome, self.rng.uniform(*dist) if dist else None))
        with unit_of_work(self.app.state.session_factory) as uow:
            record_face_outcomes(uow, challenge_id=challenge_id, frames=outcomes,
                                 at=datetime.fromtimestamp(at, UTC), policy=self.policy)


@dataclass
class World:
    """One in-process service with one platform key, in simulated time."""

    api: ProctorClient
    clock: SimClock
    policy: Policy
    faces: FaceAnswers
    requests: int = 0

    def call(self, method: str, path: str, payload: Any = None, *, at: float,
             ok: Sequence[int] = (200, 201)) -> Any:
        self.clock.t = at
        self.requests += 1
        r = self.api.request(method, path, payload)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:300]}")
        return r


def _event_json(session_id: str, d: Delivered) -> dict[str, Any]:
    e = d.raw
    out: dict[str, Any] = {"id": f"{session_id}-{e.seq}", "session_id": session_id,
                           "seq": e.seq, "type": e.type, "ts": _iso(d.client_ts)}
    for key, value in (("position", e.position), ("from", e.from_pos), ("to", e.to_pos)):
        if value is not None:  # the learner's float noise, but a player never reports < 0
            out[key] = max(value, 0.0)
    for key, flag in (("rate", e.rate), ("visible", e.visible), ("focused", e.focused),
                      ("state", e.state)):
        if flag is not None:
            out[key] = flag
    return out


class HttpGateway:
    """The learner's side of one session over HTTP: batches posted as they arrive, challenges
    fetched when the player polls, answers posted (confirm) or handed to the face pipeline."""

    def __init__(self, world: World, session_id: str, courier: Courier) -> None:
        self.world, self.session_id, self.courier = world, session_id, courier
        self.events: Sequence[RawEvent] = ()
        self.fed = 0
        self.codes: dict[str, str] = {}
        self.last_arrival = 0.0

    def _catch_up(self, now: float) -> None:
        for e in self.events[self.fed:]:
            self.courier.feed(e)
        self.fed = len(self.events)
        self.courier.tick(now)
        self._post(self.courier.take(now))

    def _post(self, arrived: list[Delivered]) -> None:
        for at, batch in groupby(arrived, key=lambda d: d.server_ts):
            body = {"events": [_event_json(self.session_id, d) for d in batch]}
            self.world.call("POST", "/v1/events", body, at=at)
            self.last_arrival = max(self.last_arrival, at)

    def tick(self, now: float, events: Sequence[RawEvent]) -> None:
        self.events = events
        self._catch_up(now)

    def poll(self, now: float, playback_s: float) -> ChallengeView | None:
        self._catch_up(now)
        r = self.world.call("GET", f"/v1/sessions/{self.session_id}/challenge", at=now,
                            ok=(200, 204))
        if r.status_code == 204:
            return None
        c = r.json()
        if c["kind"] == "confirm":  # the code the learner reads off the screen
            found = _CODE.search(c["prompt"])
            self.codes[c["challenge_id"]] = found.group() if found else ""
        return ChallengeView(c["challenge_id"], c["kind"],
                             datetime.fromisoformat(c["issued_at"]).timestamp(),
                             datetime.fromisoformat(c["expires_at"]).timestamp())

    def answer_confirm(self, challenge_id: str, at: float) -> None:
        self._catch_up(at)
        # the client's clock on every field it sends: answered_at carries its skew too
        self.world.call("POST", f"/v1/challenges/{challenge_id}/answer",
                        {"answer": self.codes.get(challenge_id, ""),
                         "answered_at": _iso(self.courier.client_ts(at))},
                        at=at, ok=(200, 409))  # 409: it expired meanwhile

    def answer_frames(self, challenge_id: str, at: float, frames: Sequence[str]) -> None:
        self._catch_up(at)
        self.world.clock.t = at
        self.world.faces.submit(challenge_id, at, frames)

    def finish(self, closed_at: float) -> float:
        """The sitting is over: the rest goes out; returns when the last batch arrived."""
        for e in self.events[self.fed:]:
            self.courier.feed(e)
        self.fed = len(self.events)
        self.courier.close(closed_at)
        self._post(self.courier.take())
        return max(self.last_arrival, closed_at)


@contextmanager
def open_world(policy: Policy, *, database_url: str | None = None, seed: int = 1,
               policy_name: str = "henan-2021") -> Iterator[World]:
    """A migrated database (a fresh SQLite file unless ``database_url`` is given), the app on
    it with a simulated clock, and one platform key."""
    with tempfile.TemporaryDirectory(prefix="proctor-sim-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'sim.db'}"
        upgrade(url)
        settings = Settings(database_url=url, broker_url=None, redis_url=None,
                            blob_dir=Path(tmp) / "blobs", policy=policy_name)
        app = create_app(settings)
        clock = SimClock()
        app.state.clock = clock
        with unit_of_work(app.state.session_factory) as uow:
            issued = issue_platform_key(uow, institution=f"模拟培训机构-{seed}",
                                        county_code="410105")
            key_id, secret = issued.key_id, issued.secret
        with TestClient(app) as client:
            api = ProctorClient(key_id=key_id, secret=secret, http=client)
            yield World(api, clock, policy, StandInFaces(app, policy, random.Random(seed)))
        app.state.engine.dispose()


def _lesson_durations(rng: random.Random, n: int, lesson_s: tuple[float, float] | None = None
                      ) -> list[tuple[float, float]]:
    """(duration s, class hours) like the engine driver's courses: mostly one class hour; or
    short lessons (``lesson_s`` range, a quarter class hour each) for quick tests."""
    if lesson_s is not None:
        return [(rng.uniform(*lesson_s), 0.25) for _ in range(n)]
    return [(rng.uniform(4800, 5200), 2.0) if rng.random() < 0.15 else
            (rng.uniform(2400, 2700), 1.0) for _ in range(n)]


def _register(world: World, learner: str, course: str, lessons: list[tuple[float, float]],
              at: float) -> None:
    body = {"title": f"模拟课程 {course}", "occupation": "物流信息员", "offline_practical_hours": 8,
            "required_class_hours": sum(h for _, h in lessons),
            "lessons": [{"id": f"L{i + 1}", "seq": i + 1, "title": f"第{i + 1}课",
                         "duration_s": round(d, 1), "class_hours": h}
                        for i, (d, h) in enumerate(lessons)]}
    world.call("PUT", f"/v1/courses/{course}", body, at=at)
    world.call("PUT", f"/v1/enrolments/{learner}/{course}",
               {"class_batch": "sim", "start_date": "2023-11-01"}, at=at)


def _learner(world: World, learner: str, index: int, at: float) -> None:
    from proctor.domain.ids import check_digit

    first17 = f"410105199003{index % 28 + 1:02d}{index % 1000:03d}"
    world.call("PUT", f"/v1/learners/{learner}",
               {"real_name": "模拟学员", "id_number": first17 + check_digit(first17)}, at=at)


@dataclass(frozen=True)
class _Sat:
    session_id: str
    events: int
    settled_from: float  # the last arrival: the verdict's wait for events counts from here


def _sit(world: World, b: Behaviour, learner: str, course: str, lesson: int, duration: float,
         start_t: float, rng: random.Random, *, start_pos: float = 0.0,
         stop_pos: float | None = None) -> _Sat:
    r = world.call("POST", "/v1/sessions", {
        "learner_id": learner, "course_id": course, "lesson_id": f"L{lesson}",
        "client": {"user_agent": "proctor-simulate", "device_id": f"{learner}-d1"}}, at=start_t)
    sid = r.json()["session_id"]
    gateway = HttpGateway(world, sid, Courier(b, random.Random(rng.random()), opened_at=start_t))
    script = act_session(b, duration, start_pos, start_t, rng, gateway, stop_pos=stop_pos)
    last = gateway.finish(script.closed_at)
    return _Sat(sid, len(script.events), last)


def _sit_in_parts(world: World, b: Behaviour, learner: str, course: str, lesson: int,
                  duration: float, start_t: float, rng: random.Random) -> _Sat:
    """One lesson studied in ``b.sittings`` sittings, each resuming where the last one stopped
    after a break; the last sitting's session is the one judged (its lesson complete)."""
    t, sat = start_t, None
    for part in range(b.sittings):
        lo = duration * part / b.sittings
        hi = None if part == b.sittings - 1 else duration * (part + 1) / b.sittings
        sat = _sit(world, b, learner, course, lesson, duration, t, rng, start_pos=lo, stop_pos=hi)
        t = _settle(world, sat.settled_from) + rng.uniform(600, 3600)  # a break between sittings
    assert sat is not None
    return sat


def _settle(world: World, after: float) -> float:
    """Let the verdicts' wait run out and run the beat that judges them again."""
    now = after + world.policy.late_telemetry_s + 2.0
    world.clock.t = now
    evaluate_idle_sessions(world.clock().isoformat())
    return now


def _verdict(world: World, session_id: str, at: float) -> Verdict:
    v = world.call("GET", f"/v1/sessions/{session_id}/verdict", at=at).json()
    return Verdict(status=v["status"], credited_seconds=v["credited_seconds"], covered=(),
                   violations=tuple(Violation(x["rule"], 0.0, 0.0, x["detail"])
                                    for x in v["violations"]),
                   policy_id=v["policy_id"], policy_version=v["policy_version"],
                   pending_reasons=tuple(v.get("pending_reasons", ())))


def simulate_learner(world: World, b: Behaviour, index: int, rng: random.Random, *,
                     sittings: int = 1, lesson_s: tuple[float, float] | None = None
                     ) -> list[SimResult]:
    """One virtual learner: registered, then ``sittings`` lessons in course order (or, for
    ``out_of_order``, lesson 2 first), each judged through the API."""
    learner, course = f"v{index}", f"c{index}"
    start = BASE_T + index * LEARNER_SPAN_S
    lessons = _lesson_durations(rng, 2, lesson_s)
    _learner(world, learner, index, start)
    _register(world, learner, course, lessons, start)
    t = start + rng.uniform(1, 60)
    results = []
    twin: _Sat | None = None
    if b.second_tab:  # the same learner plays another course in another tab meanwhile
        other = f"c{index}b"
        twin_lessons = _lesson_durations(rng, 1, lesson_s)
        _register(world, learner, other, twin_lessons, start)
        twin = _sit(world, HONEST, learner, other, 1, twin_lessons[0][0],
                    t + rng.uniform(0, 300), rng)
    order = [2] if b.out_of_order else list(range(1, sittings + 1))
    for lesson in order:
        sit = _sit_in_parts if b.sittings > 1 else _sit
        sat = sit(world, b, learner, course, lesson, lessons[lesson - 1][0], t, rng)
        after = max(sat.settled_from, twin.settled_from if twin else 0.0)
        t = _settle(world, after)
        results.append(SimResult(b.name, b.expect, _verdict(world, sat.session_id, t),
                                 sat.events))
        t += rng.uniform(5, 120)  # the next lesson right after
    return results


def run_http_simulation(honest: int, cheats: int, seed: int, policy: Policy, *,
                        database_url: str | None = None, policy_name: str = "henan-2021",
                        scenarios: Sequence[Behaviour] = CHEATS,
                        lesson_s: tuple[float, float] | None = None) -> list[SimResult]:
    """``honest`` honest sittings (a fifth of the learners sit two lessons in a row, the second
    judged against the first's stored verdict), then ``cheats`` sittings of each cheat."""
    rng = random.Random(seed)
    results: list[SimResult] = []
    index = 0
    with open_world(policy, database_url=database_url, seed=seed,
                    policy_name=policy_name) as world:
        while len(results) < honest:
            two = honest - len(results) >= 2 and rng.random() < 0.2
            results.extend(simulate_learner(world, HONEST, index, rng, sittings=2 if two else 1,
                                            lesson_s=lesson_s))
            index += 1
        for b in scenarios:
            for _ in range(cheats):
                results.extend(simulate_learner(world, b, index, rng, lesson_s=lesson_s))
                index += 1
    return results
