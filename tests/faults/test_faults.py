"""Faults, for real: kill -9 the broker, a worker, the vision worker, the API, in a running
deployment (tests/faults/stack.py: its own Redis with AOF on port 8631, uvicorn, Celery workers
and beat, PostgreSQL). After each fault every event sent is stored exactly once and every
ended session is judged, by the system alone: the reconciler (services/reconcile.py, beat,
here every 2 s with a 4 s grace) rebuilds from the database what the broker lost.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from proctor.client import ProctorClient
from proctor.services.registration import issue_platform_key
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import SessionVerdict, StudySession, TelemetryEvent
from tests.conftest import _truncate_pg
from tests.factories import resident_id
from tests.faults.stack import API_PORT, REDIS_PORT, Stack, port_free, wait_until
from tests.tally import tally

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

JUDGED_WITHIN_S = 60.0
_ids = itertools.count(1)


@pytest.fixture
def stack(pg_migrated: str, tmp_path: Path) -> Iterator[Stack]:
    for port in (REDIS_PORT, API_PORT):
        assert port_free(port), f"port {port} is taken: the fault tests need it"
    _truncate_pg(pg_migrated)
    st = Stack(tmp=tmp_path, database_url=pg_migrated)
    st.broker().start()
    try:
        yield st
    finally:
        st.stop_all()


class Learners:
    """One institution's platform, talking to the API process over HTTP, retrying the way an
    at-least-once client does (same event ids, fresh signature) until the API answers."""

    def __init__(self, st: Stack) -> None:
        with unit_of_work(session_factory(engine_for(st.database_url))) as uow:
            issued = issue_platform_key(uow, institution="郑州市金水区职业培训学校",
                                        county_code="410105")
        self.api = ProctorClient(key_id=issued.key_id, secret=issued.secret,
                                 http=httpx.Client(base_url=st.api_url, timeout=10))
        self.sent: dict[str, set[str]] = {}
        self.retries = 0
        self.call("PUT", "/v1/courses/elec-101", {
            # an annex-3 occupation (config/occupations.toml) with its 8 offline practical hours;
            # a 10-minute lesson counts for its share of a 40-minute class hour
            "title": "电子商务师（网店运营）", "occupation": "电子商务师",
            "offline_practical_hours": 8, "required_class_hours": 0.25,
            "lessons": [{"id": "L1", "seq": 1, "title": "第1课", "duration_s": 600,
                         "class_hours": 0.25}]})

    def call(self, method: str, path: str, body: Any = None, timeout_s: float = 60) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                r = self.api.request(method, path, body)
                if r.status_code < 500:
                    assert r.status_code in (200, 201, 207), (path, r.status_code, r.text)
                    return r.json()
            except httpx.TransportError:
                pass  # the API is down: retry
            self.retries += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {path}: no answer within {timeout_s} s")
            time.sleep(0.2)

    def open_session(self) -> str:
        n = next(_ids)
        self.call("PUT", f"/v1/learners/stu-{n}", {"real_name": "张伟", "id_number": resident_id()})
        self.call("PUT", f"/v1/enrolments/stu-{n}/elec-101",
                  {"class_batch": "2026-11-A", "start_date": "2026-11-01"})
        sid = self.call("POST", "/v1/sessions", {"learner_id": f"stu-{n}", "course_id": "elec-101",
                                                 "lesson_id": "L1"})["session_id"]
        self.sent[sid] = set()
        return str(sid)

    def events(self, sid: str, n: int, *, end: bool, first_seq: int = 1,
               step_s: float = 10.0) -> list[dict[str, Any]]:
        base = datetime.now(UTC) - timedelta(seconds=step_s * n)
        out: list[dict[str, Any]] = [
            {"id": f"e-{sid[:8]}-{first_seq + i}", "session_id": sid, "seq": first_seq + i,
             "ts": (base + timedelta(seconds=step_s * i)).isoformat(), "type": "heartbeat",
             "position": step_s * (first_seq + i - 1), "rate": 1.0, "visible": True,
             "focused": True} for i in range(n)]
        if end:
            out.append({"id": f"e-{sid[:8]}-end", "session_id": sid, "seq": first_seq + n,
                        "ts": datetime.now(UTC).isoformat(), "type": "session.end"})
        return out

    def send(self, batch: list[dict[str, Any]]) -> None:
        self.call("POST", "/v1/events", {"events": batch})
        for e in batch:
            self.sent[e["session_id"]].add(e["id"])


def assert_nothing_lost(st: Stack, learners: Learners) -> dict[str, int]:
    """Every event sent stored exactly once; every ended session judged on all its events."""
    factory = session_factory(engine_for(st.database_url))
    with factory() as s:
        for sid, ids in learners.sent.items():
            rows = s.execute(select(TelemetryEvent.event_id, func.count())
                             .where(TelemetryEvent.session_id == sid)
                             .group_by(TelemetryEvent.event_id)).all()
            assert {eid for eid, _ in rows} == ids, sid
            assert all(c == 1 for _, c in rows), rows

    def unjudged() -> list[str]:
        with factory() as s:
            ended = s.execute(select(StudySession.id, StudySession.last_event_at)
                              .where(StudySession.status == "ended")).all()
            out = []
            for sid, last in ended:
                v = s.get(SessionVerdict, sid)
                if v is None or (last is not None and v.evaluated_at < last):
                    out.append(sid)
            return out

    try:
        wait_until(lambda: not unjudged(), JUDGED_WITHIN_S, "every ended session judged",
                   step_s=0.5)
    except TimeoutError:
        pytest.fail(f"not judged: {unjudged()}\n{st.logs()}")
    with factory() as s:
        ended = s.scalar(select(func.count()).select_from(StudySession)
                         .where(StudySession.status == "ended"))
    events = sum(len(v) for v in learners.sent.values())
    tally("faults").update(faults=1, events=events, stored_once=events, ended=int(ended or 0),
                 judged=int(ended or 0))
    return {"events": events, "ended": int(ended or 0)}


def test_the_broker_restarted_empty_while_evaluations_were_queued(stack: Stack) -> None:
    """No worker is up: three ended sessions' evaluations wait in Redis. Redis is killed -9 and
    comes back with nothing (its disk lost); the worker starts; the reconciler finds the owed
    evaluations in the database and every session is judged."""
    stack.api().start()
    learners = Learners(stack)
    sids = [learners.open_session() for _ in range(3)]
    for sid in sids:
        learners.send(learners.events(sid, 5, end=True))
    assert stack.redis().llen("default") >= 3  # queued, and nobody to take them
    stack.procs["redis"].kill9()
    _wipe(stack.tmp / "redis")  # its AOF too: a broker that comes back with nothing
    stack.broker().start()
    assert stack.redis().llen("default") == 0  # the queued evaluations are gone
    stack.worker("default").start()
    stack.beat().start()
    seen = assert_nothing_lost(stack, learners)
    assert seen == {"events": 18, "ended": 3}


def _wipe(directory: Path) -> None:
    import shutil

    shutil.rmtree(directory)
    directory.mkdir()


def test_a_default_worker_killed_right_after_session_end(stack: Stack) -> None:
    """The worker takes the evaluations (late acks) and is killed -9 0.3 s after session.end:
    its unacknowledged tasks sit in Redis until the visibility timeout (an hour). A new
    worker and the reconciler judge every session well before."""
    stack.api().start()
    stack.worker("default").start()
    stack.beat().start()
    learners = Learners(stack)
    sids = [learners.open_session() for _ in range(4)]
    for sid in sids:
        learners.send(learners.events(sid, 5, end=False))
    learners.send([e for sid in sids for e in learners.events(sid, 0, end=True, first_seq=6)])
    time.sleep(0.3)
    stack.procs["worker-default"].kill9()
    stack.worker("default").start()
    seen = assert_nothing_lost(stack, learners)
    assert seen == {"events": 24, "ended": 4}


def test_the_api_killed_mid_batch_and_the_client_retrying(stack: Stack) -> None:
    """Batches stream in from a platform; the API is killed -9 mid-stream and restarted; the
    client retries each unanswered batch with the same event ids. Each event is stored once,
    and every session (ended in the last batch) is judged."""
    stack.api().start()
    stack.worker("default").start()
    stack.beat().start()
    learners = Learners(stack)
    sids = [learners.open_session() for _ in range(4)]
    batches = [[e for sid in sids for e in learners.events(sid, 50, end=False, first_seq=1 + 50 * k)]
               for k in range(8)]
    batches.append([e for sid in sids for e in learners.events(sid, 0, end=True, first_seq=401)])
    errors: list[BaseException] = []

    def stream() -> None:
        try:
            for batch in batches:
                learners.send(batch)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    sender = threading.Thread(target=stream)
    sender.start()
    wait_until(lambda: _stored(stack) >= 200, 30, "the first batches stored", step_s=0.02)
    stack.procs["api"].kill9()
    retries_before = learners.retries
    stack.api().start()
    sender.join(timeout=120)
    assert not errors and not sender.is_alive()
    assert learners.retries > retries_before or _stored(stack) == 4 * 401
    seen = assert_nothing_lost(stack, learners)
    assert seen == {"events": 4 * 401, "ended": 4}


def _stored(stack: Stack) -> int:
    with session_factory(engine_for(stack.database_url))() as s:
        return int(s.scalar(select(func.count()).select_from(TelemetryEvent)) or 0)


@pytest.mark.face
def test_a_vision_worker_killed_mid_burst(stack: Stack) -> None:
    """A learner's opening liveness burst is queued to the vision worker, which is killed -9
    while judging it. The photos do not stay `pending`: the reconciler asks again once they are
    past the grace, a new vision worker judges them, and the live learner passes (the service
    lost the photos, not the learner)."""
    from proctor.bench._faces_data import clip_frames
    from proctor.config import Settings
    from proctor.storage.tables import Challenge, Photo
    from tests.face_flows import ENROL_FRAME, REVIEWER, burst, jpeg, set_action

    stack.api().start()
    stack.worker("default").start()
    stack.worker("vision").start()
    stack.beat().start()
    learners = Learners(stack)
    sid = learners.open_session()
    learner = f"stu-{next(_ids) - 1}"
    # a staff-reviewed reference photo (henan-2021's enrolment_sources refuse a bare one)
    r = learners.api.upload(f"/v1/learners/{learner}/face",
                            [("face.jpg", jpeg(clip_frames()[ENROL_FRAME]))],
                            fields={"reviewed_by": REVIEWER})
    assert r.status_code == 202, r.text
    wait_until(lambda: learners.api.get(f"/v1/learners/{learner}/face").json()["status"]
               == "enrolled", 90, "the enrolment judged by the vision worker", step_s=0.3)
    ch = learners.api.get(f"/v1/sessions/{sid}/challenge").json()
    assert ch["kind"] == "liveness", ch
    set_action(Settings(database_url=stack.database_url), ch["challenge_id"], "turn_right")
    up = learners.api.upload(f"/v1/challenges/{ch['challenge_id']}/photo",
                             [(f"f{i}.jpg", b) for i, b in enumerate(burst(84))])
    assert up.status_code == 202, up.text
    time.sleep(0.15)  # the worker has the burst: decoding, detecting, comparing
    stack.procs["worker-vision"].kill9()

    factory = session_factory(engine_for(stack.database_url))
    with factory() as s:
        pending = s.scalar(select(func.count()).select_from(Photo)
                           .where(Photo.challenge_id == ch["challenge_id"],
                                  Photo.outcome == "pending"))
    assert pending == 8  # the kill landed before the burst was judged
    learners.api.get(f"/v1/sessions/{sid}/challenge")  # the learner's page keeps asking
    time.sleep(0.5)
    learners.send(learners.events(sid, 3, end=False, step_s=0.1))  # playback began
    stack.worker("vision").start()

    def judged() -> str | None:
        with factory() as s:
            c = s.get(Challenge, ch["challenge_id"])
            left = s.scalar(select(func.count()).select_from(Photo)
                            .where(Photo.challenge_id == c.id, Photo.outcome == "pending"))
            return c.outcome if c is not None and left == 0 else None

    outcome = wait_until(judged, JUDGED_WITHIN_S, "the burst judged again", step_s=0.5)
    assert outcome == "passed"
    learners.send(learners.events(sid, 0, end=True, first_seq=4))
    seen = assert_nothing_lost(stack, learners)
    assert seen == {"events": 4, "ended": 1}
    with factory() as s:
        v = s.get(SessionVerdict, sid)
        assert v is not None
        assert not [x for x in v.result["violations"] if x["rule"] == "FACE_LIVENESS"], v.result
