"""The county simulator: multi-institution learners, 代学 rooms, scripted bots, honest controls.

Everything goes through the real API in simulated time (FastAPI's TestClient, signed requests,
one platform key per institution, an assessor key for exams): registration, sessions opened
with the client's device id / fingerprint / IP, telemetry batches, session.end. The county's
per-session job runs as in production (after the commit of the batch that ended a session);
the per-day job then runs for each simulated day. The matrix says, per scenario, which county
rules opened a case on its learners: every cheat must be caught by its rule, and no honest
control may be flagged (docs/county.md).

Faces: the simulator sends no photos, so the FACE_TWO_IDS scenario feeds a match through
`services.county.checks.record_face_matches`; the real path (the faces 1:N search's
"same_face_other_id" hold, picked up by the per-day job) is tested with real photos in
tests/county/test_face_holds.py.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from proctor.client import ProctorClient
from proctor.config import Settings
from proctor.domain.county import signals as sig
from proctor.domain.ids import check_digit
from proctor.main import create_app
from proctor.services.county.checks import check_day, record_face_matches
from proctor.services.county.exams import issue_assessor_key
from proctor.services.registration import issue_platform_key
from proctor.storage.db import unit_of_work
from proctor.storage.migrate import upgrade
from proctor.storage.tables import CountyCase, Learner

COUNTY = "410105"
LOCAL = timedelta(hours=8)
DAY = date(2026, 10, 12)  # the simulated (local) day most scenarios study on
INSTITUTIONS = ("金水区职业培训学校", "华夏技能培训中心", "中原家政服务培训学校")
CLASS_HOUR_S = 2400.0  # the policy's class hour (每课时不低于40分钟): a shorter lesson counts less


class SimClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 10, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.t


def local(day: date, hour: float) -> datetime:
    """A local (UTC+8) time on ``day`` as an aware UTC datetime."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) - LOCAL + timedelta(hours=hour)


@dataclass
class Scenario:
    name: str
    honest: bool
    expected: tuple[str, ...]  # rules that must catch a cheat (empty for an honest control)
    description: str
    learners: set[int] = field(default_factory=set)  # learner row ids, filled while running


@dataclass
class MatrixRow:
    scenario: str
    honest: bool
    description: str
    expected: tuple[str, ...]
    fired: tuple[str, ...]
    by_session_job: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.fired if self.honest else set(self.expected) <= set(self.fired)


@dataclass
class CountyWorld:
    app: Any
    clock: SimClock
    platforms: list[ProctorClient]
    names: list[str]
    assessor: ProctorClient
    rng: random.Random
    settings: Settings
    sessions: int = 0
    events: int = 0
    _ids: int = 0

    def call(self, api: ProctorClient, method: str, path: str, payload: Any, *, at: datetime,
             ok: Sequence[int] = (200, 201), headers: dict[str, str] | None = None) -> Any:
        self.clock.t = at
        r = api.request(method, path, payload, headers=headers)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {path} -> {r.status_code}: {r.text[:300]}")
        return r.json()

    def person(self) -> str:
        self._ids += 1
        first17 = f"{COUNTY}19{80 + self._ids % 20:02d}0{self._ids % 9 + 1}1{self._ids % 9}" \
                  f"{self._ids % 1000:03d}"
        return first17 + check_digit(first17)

    def learner(self, sc: Scenario, inst: int, ext: str, id_number: str, course: str,
                batch: str, start_on: date, *, lessons: int = 3, lesson_s: float = 1500) -> None:
        api, at = self.platforms[inst], local(start_on, 8)
        hours = round(min(1.0, lesson_s / CLASS_HOUR_S), 4)  # 每课时不低于40分钟
        self.call(api, "PUT", f"/v1/courses/{course}", {
            "title": f"{course} 课程", "occupation": "物流信息员", "offline_practical_hours": 8,
            "required_class_hours": lessons * hours,
            "lessons": [{"id": f"L{i}", "seq": i, "duration_s": lesson_s, "class_hours": hours}
                        for i in range(1, lessons + 1)]}, at=at)
        self.call(api, "PUT", f"/v1/learners/{ext}", {"real_name": "模拟学员",
                                                     "id_number": id_number}, at=at)
        self.call(api, "PUT", f"/v1/enrolments/{ext}/{course}",
                  {"class_batch": batch, "start_date": start_on.isoformat()}, at=at)
        with unit_of_work(self.app.state.session_factory) as uow:
            row = uow.session.scalar(select(Learner).where(Learner.ext_id == ext))
            assert row is not None
            sc.learners.add(row.id)

    def sit(self, inst: int, ext: str, course: str, lesson: int, start: datetime,
            duration_s: float, *, device: str | None, ip: str | None,
            fingerprint: str | None = None, jitter_s: float = 0.04,
            script: list[tuple[str, float, float | None]] | None = None) -> None:
        """One sitting: open, play with heartbeats every ~10 s (``jitter_s`` standard deviation;
        0 = a script's exact timer), end. ``script`` replays (type, offset, position) events."""
        api = self.platforms[inst]
        client: dict[str, Any] = {"user_agent": "Mozilla/5.0 (sim)", "device_id": device,
                                  "ip": ip}
        if fingerprint:
            client["fingerprint"] = fingerprint
        opened = self.call(api, "POST", "/v1/sessions", {
            "learner_id": ext, "course_id": course, "lesson_id": f"L{lesson}", "client": client},
            at=start)
        sid = opened["session_id"]
        events = script if script is not None else self.heartbeats(duration_s, jitter_s)
        body = [{"id": f"{sid}-{i}", "session_id": sid, "seq": i, "type": kind,
                 "ts": (start + timedelta(seconds=off)).isoformat(timespec="milliseconds"),
                 **({"position": pos} if pos is not None else {}),
                 **({"rate": 1.0, "visible": True, "focused": True} if kind == "heartbeat"
                    else {})}
                for i, (kind, off, pos) in enumerate(events, start=1)]
        end = start + timedelta(seconds=events[-1][1] + 1)
        for k in range(0, len(body), 1000):
            self.call(api, "POST", "/v1/events", {"events": body[k:k + 1000]}, at=end,
                      ok=(200, 207))
        self.sessions += 1
        self.events += len(body)

    def heartbeats(self, duration_s: float, jitter_s: float
                   ) -> list[tuple[str, float, float | None]]:
        out: list[tuple[str, float, float | None]] = [("play", 0.0, 0.0)]
        t = 0.0
        while t + 10 < duration_s:
            t += 10.0 + (self.rng.gauss(0, jitter_s) if jitter_s else 0.0)
            out.append(("heartbeat", round(t, 3), round(t, 3)))
        out.append(("lesson.complete", round(t + 1, 3), round(t + 1, 3)))
        out.append(("session.end", round(t + 2, 3), None))
        return out

    def exam(self, id_number: str, inst: int, course: str, exam_on: date, result: str) -> None:
        self.call(self.assessor, "POST", "/v1/county/exams", {
            "id_number": id_number, "institution": self.names[inst], "course_id": course,
            "exam_on": exam_on.isoformat(), "result": result}, at=local(exam_on, 15),
            headers={"X-Proctor-Assessor-Key": self.assessor.key_id})


@contextmanager
def open_county_world(*, database_url: str | None = None, seed: int = 14) -> Iterator[CountyWorld]:
    with tempfile.TemporaryDirectory(prefix="proctor-county-") as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'county.db'}"
        upgrade(url)
        settings = Settings(database_url=url, broker_url=None, redis_url=None,
                            blob_dir=Path(tmp) / "blobs", embedded_beat_s=0)
        app = create_app(settings)
        clock = SimClock()
        app.state.clock = clock
        keys = []
        with unit_of_work(app.state.session_factory) as uow:
            for name in INSTITUTIONS:
                issued = issue_platform_key(uow, institution=name, county_code=COUNTY)
                keys.append((issued.key_id, issued.secret))
            ak = issue_assessor_key(uow, name="金水区职业技能鉴定所", county_code=COUNTY)
        with TestClient(app) as http:
            yield CountyWorld(app, clock, [ProctorClient(key_id=k, secret=s, http=http)
                                           for k, s in keys], list(INSTITUTIONS),
                              ProctorClient(key_id=ak.key_id, secret=ak.secret, http=http),
                              random.Random(seed), settings)
        app.state.engine.dispose()


# ---------------------------------------------------------------- scenarios
def _two_institutions(w: CountyWorld, sc: Scenario) -> None:
    p = w.person()
    w.learner(sc, 0, "two-a", p, "c-two-a", "2026-10-A", date(2026, 10, 1))
    w.learner(sc, 1, "two-b", p, "c-two-b", "2026-10-B", date(2026, 10, 3))
    w.sit(0, "two-a", "c-two-a", 1, local(DAY, 10), 1500, device="two-phone", ip="36.1.2.3")
    w.sit(1, "two-b", "c-two-b", 1, local(DAY, 10.1), 1500, device="two-laptop", ip="36.7.8.9")


def _two_classes(w: CountyWorld, sc: Scenario) -> None:
    p = w.person()
    w.learner(sc, 0, "cls-a", p, "c-cls-a", "2026-09-A", date(2026, 9, 20))
    w.learner(sc, 2, "cls-c", p, "c-cls-c", "2026-10-C", date(2026, 10, 5))
    w.sit(0, "cls-a", "c-cls-a", 1, local(DAY, 9), 1500, device="cls-pc", ip="36.2.1.1")
    w.sit(2, "cls-c", "c-cls-c", 1, local(DAY, 20), 1500, device="cls-pc", ip="36.2.1.1")


def _daixue_room(w: CountyWorld, sc: Scenario) -> None:
    """One operator, twelve learners' sessions on two computers at once, one IP."""
    for i in range(12):
        w.learner(sc, 0, f"room-{i}", w.person(), "c-room", "2026-10-R", date(2026, 10, 1))
    for i in range(12):
        start = local(DAY, 9) + timedelta(seconds=40 * i)
        w.sit(0, f"room-{i}", "c-room", 1, start, 1500 + 17 * i, device=f"room-pc-{i % 2}",
              ip=f"10.9.9.{i % 2 + 10}")


def _spoofed_room(w: CountyWorld, sc: Scenario) -> None:
    """A room that sends a new device id per session: its browsers' fingerprint stays."""
    for i in range(6):
        w.learner(sc, 1, f"spoof-{i}", w.person(), "c-spoof", "2026-10-S", date(2026, 10, 1))
    for i in range(6):
        start = local(DAY, 14) + timedelta(seconds=45 * i)
        w.sit(1, f"spoof-{i}", "c-spoof", 1, start, 1500 + 11 * i, device=f"rand-{w.rng.random()}",
              fingerprint="fp-5b1c-room", ip=f"61.3.{i}.7")


def _bot(w: CountyWorld, sc: Scenario) -> None:
    """A scripted bot whose timer never drifts."""
    w.learner(sc, 2, "bot-1", w.person(), "c-bot", "2026-10-T", date(2026, 10, 1))
    for lesson in (1, 2):
        w.sit(2, "bot-1", "c-bot", lesson, local(DAY, 8 + 2 * lesson), 1500, device="bot-vm",
              ip="47.9.1.1", jitter_s=0.0)


def _replayed_script(w: CountyWorld, sc: Scenario) -> None:
    """Three learners' sessions replaying one recorded (human, jittery) event script."""
    script = w.heartbeats(1500, 0.05)
    for i in range(3):
        w.learner(sc, 0, f"replay-{i}", w.person(), "c-replay", "2026-10-P", date(2026, 10, 1))
    for i in range(3):
        w.sit(0, f"replay-{i}", "c-replay", 1, local(DAY, 11 + 2 * i), 1500,
              device=f"replay-dev-{i}", ip=f"58.{i}.4.4", script=script)


def _lockstep_class(w: CountyWorld, sc: Scenario) -> None:
    """A platform-side script "studying" for a whole class: all start and stop together."""
    for i in range(7):
        w.learner(sc, 1, f"step-{i}", w.person(), "c-step", "2026-10-L", date(2026, 10, 1))
    for i in range(7):
        w.sit(1, f"step-{i}", "c-step", 1, local(DAY, 15) + timedelta(seconds=w.rng.uniform(0, 4)),
              1500, device=f"step-dev-{i}", ip=f"42.{i}.8.8")


def _night(w: CountyWorld, sc: Scenario) -> None:
    """Study through the night: five sessions from 00:20 to 05:30."""
    w.learner(sc, 2, "night-1", w.person(), "c-night", "2026-10-N", date(2026, 10, 1),
              lessons=5, lesson_s=3600)
    for lesson in range(1, 6):
        w.sit(2, "night-1", "c-night", lesson, local(DAY, 0.3 + 1.02 * (lesson - 1)), 3600,
              device="night-pc", ip="39.1.1.1")


def _face_two_ids(w: CountyWorld, sc: Scenario) -> None:
    """One face enrolled under two ID numbers (a stand-in for another person's identity)."""
    w.learner(sc, 0, "face-a", w.person(), "c-face-a", "2026-10-F", date(2026, 10, 1))
    w.learner(sc, 1, "face-b", w.person(), "c-face-b", "2026-10-G", date(2026, 10, 1))
    a, b = sorted(sc.learners)
    with unit_of_work(w.app.state.session_factory) as uow:
        record_face_matches(uow, matches=[(a, b, 0.31)], settings=w.settings, now=w.clock())


# honest controls
def _family_computer(w: CountyWorld, sc: Scenario) -> None:
    """Husband and wife on the family computer in turn, at two institutions."""
    w.learner(sc, 0, "fam-1", w.person(), "c-fam-1", "2026-10-A", date(2026, 10, 1))
    w.learner(sc, 2, "fam-2", w.person(), "c-fam-2", "2026-10-C", date(2026, 10, 2))
    w.sit(0, "fam-1", "c-fam-1", 1, local(DAY, 19), 1500, device="family-pc", ip="36.5.5.5",
          fingerprint="fp-family")
    w.sit(2, "fam-2", "c-fam-2", 1, local(DAY, 19.6), 1500, device="family-pc", ip="36.5.5.5",
          fingerprint="fp-family")
    w.sit(0, "fam-1", "c-fam-1", 2, local(DAY, 20.2), 1500, device="family-pc", ip="36.5.5.5",
          fingerprint="fp-family")


def _training_lab(w: CountyWorld, sc: Scenario) -> None:
    """A training centre's lab: twenty learners of one class on one IP, a machine each,
    logging in over five minutes and pausing as people do."""
    for i in range(20):
        w.learner(sc, 1, f"lab-{i}", w.person(), "c-lab", "2026-10-LAB", date(2026, 10, 1))
    for i in range(20):
        start = local(DAY, 9) + timedelta(seconds=w.rng.uniform(0, 300))
        w.sit(1, f"lab-{i}", "c-lab", 1, start, 1500 + w.rng.uniform(0, 420),
              device=f"lab-pc-{i:02d}", fingerprint=f"fp-lab-{i:02d}", ip="10.20.30.1")


def _night_shift(w: CountyWorld, sc: Scenario) -> None:
    """A night-shift worker's study after the shift: 02:00 to 03:20, and again at 07:00."""
    w.learner(sc, 2, "shift-1", w.person(), "c-shift", "2026-10-W", date(2026, 10, 1))
    for lesson, hour in ((1, 2.0), (2, 2.7), (3, 7.0)):
        w.sit(2, "shift-1", "c-shift", lesson, local(DAY, hour), 1500, device="shift-phone",
              ip="36.6.6.6")


def _moved_on_after_exam(w: CountyWorld, sc: Scenario) -> None:
    """One person at two institutions in turn: examined at the first, a class at the second
    starting more than a month later."""
    p = w.person()
    w.learner(sc, 0, "move-a", p, "c-move-a", "2026-08-A", date(2026, 8, 1))
    w.sit(0, "move-a", "c-move-a", 1, local(date(2026, 8, 5), 10), 1500, device="move-pc",
          ip="36.8.8.8")
    w.exam(p, 0, "c-move-a", date(2026, 8, 20), "pass")
    w.learner(sc, 1, "move-b", p, "c-move-b", "2026-10-B", date(2026, 10, 1))
    w.sit(1, "move-b", "c-move-b", 1, local(DAY, 10), 1500, device="move-pc", ip="36.8.8.8")


def _ordinary(w: CountyWorld, sc: Scenario) -> None:
    """Ordinary learners at home."""
    for i in range(4):
        w.learner(sc, i % 3, f"home-{i}", w.person(), f"c-home-{i % 3}", "2026-10-H",
                  date(2026, 10, 1))
    for i in range(4):
        w.sit(i % 3, f"home-{i}", f"c-home-{i % 3}", 1, local(DAY, 8 + 3 * i), 1500,
              device=f"home-{i}", ip=f"27.{i}.3.3")


SCENARIOS: tuple[tuple[Scenario, Any], ...] = (
    (Scenario("two_institutions", False, (sig.PERSON_TWO_INSTITUTIONS,),
              "one person studying at two institutions at the same time"), _two_institutions),
    (Scenario("two_classes", False, (sig.PERSON_TWO_CLASSES,),
              "one person in two subsidised classes at once (never at the same minute)"),
     _two_classes),
    (Scenario("daixue_room", False, (sig.DEVICE_SHARED_AT_ONCE, sig.DEVICE_MANY_PERSONS_DAY,
                                     sig.IP_ROOM),
              "代学 room: twelve learners on two computers at once, one IP"), _daixue_room),
    (Scenario("spoofed_device_room", False, (sig.DEVICE_SHARED_AT_ONCE,),
              "a room sending a fresh device id per session (same fingerprint)"), _spoofed_room),
    (Scenario("scripted_bot", False, (sig.HEARTBEAT_NO_JITTER,),
              "a bot whose heartbeats never drift"), _bot),
    (Scenario("replayed_script", False, (sig.IDENTICAL_TELEMETRY,),
              "three learners replaying one recorded event script"), _replayed_script),
    (Scenario("lockstep_class", False, (sig.CLASS_LOCKSTEP,),
              "a whole class started and stopped within seconds"), _lockstep_class),
    (Scenario("through_the_night", False, (sig.NIGHT_STUDY,),
              "five hours of study between midnight and six"), _night),
    (Scenario("face_two_ids", False, (sig.FACE_TWO_IDS,),
              "one face under two ID numbers (via the faces 1:N hook)"), _face_two_ids),
    (Scenario("family_computer", True, (), "a couple taking turns on one home computer"),
     _family_computer),
    (Scenario("training_centre_lab", True, (),
              "a lab: 20 learners, one IP, a machine each"), _training_lab),
    (Scenario("night_shift_worker", True, (),
              "80 minutes of study at 2 a.m. after a night shift"), _night_shift),
    (Scenario("examined_then_moved_on", True, (),
              "examined at one institution, a class at another > 1 month later"),
     _moved_on_after_exam),
    (Scenario("ordinary_learners", True, (), "learners at home"), _ordinary),
)


@dataclass
class CountySimulation:
    rows: list[MatrixRow]
    sessions: int
    events: int
    cases: int

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    def markdown(self) -> str:
        head = ("| scenario | kind | expected rules | rules that opened a case | of them by the "
                "per-session job | result |\n|---|---|---|---|---|---|\n")
        body = "".join(
            f"| {r.scenario} | {'honest control' if r.honest else 'cheat'} | "
            f"{', '.join(r.expected) or '—'} | {', '.join(r.fired) or '—'} | "
            f"{', '.join(r.by_session_job) or '—'} | "
            f"{'ok' if r.ok else ('FLAGGED' if r.honest else 'MISSED')} |\n" for r in self.rows)
        return head + body


def _fired(w: CountyWorld, learners: set[int]) -> tuple[str, ...]:
    with unit_of_work(w.app.state.session_factory) as uow:
        cases = uow.session.scalars(select(CountyCase)).all()
        return tuple(sorted({c.rule for c in cases if set(c.learner_ids) & learners}))


def run_county_simulation(*, database_url: str | None = None, seed: int = 14
                          ) -> CountySimulation:
    with open_county_world(database_url=database_url, seed=seed) as w:
        scenarios = []
        for template, play in SCENARIOS:
            sc = Scenario(template.name, template.honest, template.expected, template.description)
            play(w, sc)
            scenarios.append(sc)
        after_sessions = {sc.name: _fired(w, sc.learners) for sc in scenarios}
        days = {DAY - timedelta(days=1), DAY, DAY + timedelta(days=1), date(2026, 8, 5)}
        for day in sorted(days):
            with unit_of_work(w.app.state.session_factory) as uow:
                check_day(uow, day=day, settings=w.settings, now=local(DAY, 23.9) + timedelta(
                    days=2))
        rows = [MatrixRow(sc.name, sc.honest, sc.description, sc.expected,
                          _fired(w, sc.learners), after_sessions[sc.name]) for sc in scenarios]
        with unit_of_work(w.app.state.session_factory) as uow:
            total = len(uow.session.scalars(select(CountyCase.id)).all())
        return CountySimulation(rows, w.sessions, w.events, total)
