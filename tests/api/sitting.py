"""A scripted study sitting driven through the signed API in simulated time.

The app's clock (``app.state.clock``) is a :class:`FakeClock` the test moves; every event is
posted at the moment the player emitted it, challenges are fetched and answered as a player
would. Photo and liveness answers go through the face pipeline STAND-IN
(`proctor.simulation.face_standin`), which writes the outcomes the vision task would store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from proctor.services.policies import policy_for
from proctor.simulation.face_standin import record_face_outcomes
from proctor.storage.db import unit_of_work
from tests.factories import Platform

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Henan
MATCH = (("match", 0.35),)


class FakeClock:
    """The server's clock in simulated time."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def install_clock(client: TestClient, start: datetime = T0) -> FakeClock:
    clock = FakeClock(start)
    client.app.state.clock = clock  # type: ignore[attr-defined]
    return clock


def stand_in_faces(client: TestClient, challenge_id: str,
                   frames: Sequence[tuple[str, float | None]], at: datetime) -> str:
    """STAND-IN for the vision task (photo upload -> face outcome), through storage."""
    app: Any = client.app
    with unit_of_work(app.state.session_factory) as uow:
        return record_face_outcomes(uow, challenge_id=challenge_id, frames=frames, at=at,
                                    policy=policy_for(app.state.settings))


@dataclass
class Sitting:
    """One player: posts events one by one at the clock's time, answers challenges."""

    platform: Platform
    client: TestClient
    clock: FakeClock
    session_id: str
    pos: float = 0.0
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)
    challenges: list[dict[str, Any]] = field(default_factory=list)
    held_back: list[dict[str, Any]] = field(default_factory=list)
    skew_s: float = 0.0  # the client's clock error: event times are the client's word

    @classmethod
    def open(cls, platform: Platform, client: TestClient, clock: FakeClock, *,
             learner_id: str = "stu-1", course_id: str = "elec-101",
             lesson_id: str = "L1", skew_s: float = 0.0) -> Sitting:
        sid = platform.session(learner_id, course_id, lesson_id)["session_id"]
        return cls(platform, client, clock, sid, skew_s=skew_s)

    def event(self, type_: str, *, post: bool = True, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        ev = {"id": f"{self.session_id[:8]}-{self.seq}", "session_id": self.session_id,
              "seq": self.seq, "type": type_,
              "ts": (self.clock.now + timedelta(seconds=self.skew_s)).isoformat(
                  timespec="milliseconds"), **fields}
        if post:
            self.post([ev])
        else:
            self.held_back.append(ev)
        return ev

    def post(self, events: list[dict[str, Any]]) -> None:
        r = self.platform.api.post("/v1/events", {"events": events})
        assert r.status_code == 200, r.text
        self.sent.extend(events)

    def fetch(self) -> dict[str, Any] | None:
        r = self.platform.api.get(f"/v1/sessions/{self.session_id}/challenge")
        if r.status_code == 204:
            return None
        assert r.status_code == 200, r.text
        return r.json()

    def answer(self, challenge: dict[str, Any], *, frames: Sequence[tuple[str, float | None]]
               = MATCH, code: str | None = None) -> str:
        self.challenges.append(challenge)
        if challenge["kind"] == "confirm":
            shown = re.search(r"\d{4}", challenge["prompt"])
            assert shown is not None
            r = self.platform.api.post(f"/v1/challenges/{challenge['challenge_id']}/answer",
                                       {"answer": code or shown.group(),
                                        "answered_at": (self.clock.now + timedelta(
                                            seconds=self.skew_s)).isoformat()})
            assert r.status_code == 200, r.text
            return str(r.json()["outcome"])
        return stand_in_faces(self.client, challenge["challenge_id"], frames, self.clock.now)

    def start(self, *, frames: Sequence[tuple[str, float | None]] = MATCH) -> None:
        """Pass the opening liveness check, then press play."""
        c = self.fetch()
        assert c is not None and c["kind"] == "liveness"
        self.clock.advance(3)
        self.answer(c, frames=frames)
        self.event("play", position=self.pos)

    def play(self, seconds: float, *, step: float = 10.0, lose: Sequence[int] = (),
             **kw: Any) -> None:
        """Play on, a heartbeat every ``step`` s (see :meth:`tick`); ``lose``: heartbeats
        (0-based in this call) that never reach the server."""
        for i in range(int(seconds // step)):
            self.clock.advance(step)
            self.tick(step, lost=i in lose, **kw)

    def tick(self, step: float = 10.0, *, answer: Sequence[str] = ("liveness", "photo", "confirm"),
             photo_frames: Sequence[tuple[str, float | None]] = MATCH, speed: float = 1.0,
             visible: bool = True, lost: bool = False) -> None:
        """``step`` s of playback just passed (the caller moved the clock): a heartbeat (unless
        ``lost`` on the way), then fetch the due challenge and answer it if its kind is in
        ``answer``."""
        self.pos += step * speed
        self.event("heartbeat", post=not lost, position=self.pos, rate=1.0, visible=visible,
                   focused=visible)
        c = self.fetch()
        if c is None:
            return
        if c["kind"] in answer:
            self.answer(c, frames=photo_frames)
        else:
            self.challenges.append(c)

    def finish(self, duration: float) -> None:
        """Play to the end of the media, then say complete and leave."""
        if duration - self.pos >= 10:
            self.play(duration - self.pos)
        self.clock.advance(1)
        self.event("lesson.complete", position=duration)
        self.clock.advance(1)
        self.event("session.end")

    def verdict(self) -> dict[str, Any]:
        r = self.platform.api.get(f"/v1/sessions/{self.session_id}/verdict")
        assert r.status_code == 200, r.text
        return r.json()
