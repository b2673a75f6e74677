"""Signed callbacks (CONTRACT §4) against a real HTTP receiver on 127.0.0.1 that checks the
Standard Webhooks signature with the platform's secret and can be told to fail."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from conftest import World, csrf_of, make_world
from proctor.config import Settings, get_settings
from proctor.domain.backoff import backoff_delay
from proctor.services import messages
from proctor.services.callbacks import deliver_once
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import AuditEntry, Callback, Institution, PlatformKey
from proctor.workers import celery_app as celery_module
from proctor.workers.dispatch import factory_for

HOME = "410105"


@dataclass
class Receiver:
    """A platform's callback endpoint. `fail_next` requests get a 503."""

    url: str = ""
    secret: str = ""
    fail_next: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The receiver listens on 127.0.0.1: allowed only by this explicit, test-only setting."""
    return settings.model_copy(update={"callbacks_allow_private_targets": True})


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                try:
                    payload = Webhook(state.secret).verify(body, headers)
                except Exception as exc:  # a bad signature is refused, as a platform would
                    state.refused.append(str(exc))
                    self.send_response(401)
                    self.end_headers()
                    return
                if state.fail_next > 0:
                    state.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    self.wfile.write(b"down for maintenance")
                    return
                state.received.append({"id": headers["webhook-id"], "key": headers.get(
                    "x-proctor-key"), "payload": payload, "host": headers.get("host")})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/proctor"
    try:
        yield state
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _register(world: World, receiver: Receiver, county: str = HOME) -> str:
    """The platform registers its URL; the receiver learns the platform's secret."""
    with unit_of_work(session_factory(engine_for(world.settings.database_url))) as uow:
        inst = uow.session.get(Institution, world.inst[county])
        assert inst is not None
        inst.callback_url = receiver.url
        key = uow.session.scalar(select(PlatformKey).where(PlatformKey.institution_id == inst.id))
        assert key is not None
        receiver.secret = key.secret
        return key.key_id


def _callbacks(world: World) -> list[Callback]:
    with session_factory(engine_for(world.settings.database_url))() as s:
        return list(s.scalars(select(Callback).order_by(Callback.created_at, Callback.kind)))


def _overturn(world: World, session_id: str) -> None:
    client = world.client("reviewer")
    page = client.get(f"/portal/sessions/{session_id}")
    r = client.post(f"/portal/sessions/{session_id}/review",
                    data={"decision": "overturn", "reason": "页面切到后台是双屏显示所致",
                          "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303


def test_a_review_sends_signed_verdict_and_eligibility_callbacks(world: World,
                                                                 receiver: Receiver) -> None:
    key_id = _register(world, receiver)
    _overturn(world, world.flagged[HOME])
    kinds = sorted(r["payload"]["type"] for r in receiver.received)
    # the overturned session, the later one re-judged valid, and the learner now eligible
    assert kinds == ["eligibility.changed", "verdict.changed", "verdict.changed"], receiver.refused
    assert receiver.refused == []
    by_session = {r["payload"]["data"].get("session_id"): r for r in receiver.received}
    first = by_session[world.flagged[HOME]]
    assert first["key"] == key_id
    assert first["payload"]["data"]["status"] == "valid"
    assert first["payload"]["data"]["previous_status"] == "invalid"
    assert first["payload"]["data"]["reviewed"] is True
    # the evidence: codes and parameters for machines, the catalogue's Chinese beside them
    groups = first["payload"]["data"]["violations"]
    assert groups and {g["rule"] for g in groups} == set(first["payload"]["data"]["rules"])
    for g in groups:
        assert g["code"].startswith(g["rule"] + ".") and isinstance(g["params"], dict)
        assert g["count"] >= 1 and isinstance(g["first_at"], float)
        assert g["text_zh"] == messages.render(g["code"], g["params"])
        assert re.search(r"[\u4e00-\u9fff]", g["text_zh"]), g["text_zh"]
    assert by_session[world.cascaded[HOME]]["payload"]["data"]["status"] == "valid"
    eligibility = by_session[None]["payload"]["data"]
    assert eligibility["exam_eligible"] is True
    assert eligibility["learner_id"].endswith("02")
    for r in receiver.received:
        json.dumps(r["payload"])  # plain JSON, with the Standard Webhooks envelope
        assert r["payload"]["timestamp"]
    rows = _callbacks(world)
    assert {c.status for c in rows} == {"delivered"}
    assert {c.id for c in rows} == {r["id"] for r in receiver.received}  # webhook-id = row id


def test_failures_back_off_then_deliver_with_the_same_id(world: World,
                                                         receiver: Receiver) -> None:
    _register(world, receiver)
    receiver.fail_next = 3  # the inline first attempt of each of the 3 callbacks fails
    _overturn(world, world.flagged[HOME])
    pending = _callbacks(world)
    assert [c.status for c in pending] == ["pending"] * 3
    assert all(c.attempts == 1 and c.last_status_code == 503 for c in pending)
    assert all("down for maintenance" in (c.last_error or "") for c in pending)
    # the retry time follows the backoff (base 30 s in these settings: 15..30 s after attempt 1)
    for c in pending:
        wait = (c.next_attempt_at - c.created_at).total_seconds()
        assert 15.0 <= wait <= 31.0
    receiver.fail_next = 1
    factory = session_factory(engine_for(world.settings.database_url))
    target = pending[0].id
    for expected_attempts, status in ((2, "pending"), (3, "delivered"), (3, "delivered")):
        with unit_of_work(factory) as uow:
            deliver_once(uow, callback_id=target, settings=world.settings, now=utcnow())
        row = next(c for c in _callbacks(world) if c.id == target)
        assert (row.attempts, row.status) == (expected_attempts, status)
    assert [r["id"] for r in receiver.received] == [target]  # delivered once, under its own id


def test_the_last_failure_makes_a_dead_letter_an_admin_can_retry(settings: Settings,
                                                                 receiver: Receiver) -> None:
    world = make_world(settings.model_copy(update={"callback_max_attempts": 2}))
    _register(world, receiver)
    receiver.fail_next = 100
    _overturn(world, world.flagged[HOME])
    factory = session_factory(engine_for(world.settings.database_url))
    for c in _callbacks(world):
        with unit_of_work(factory) as uow:
            assert deliver_once(uow, callback_id=c.id, settings=world.settings,
                                now=utcnow()).status == "dead"
    dead = _callbacks(world)
    assert {c.status for c in dead} == {"dead"}
    with factory() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "callback.dead_letter"))

    # the dead-letter list is for administrators only
    assert world.client("reviewer").get("/portal/dead-letters").status_code == 404
    admin = world.client("admin")
    page = admin.get("/portal/dead-letters")
    assert page.status_code == 200
    for c in dead:
        assert c.subject in page.text
    receiver.fail_next = 0
    target = dead[0]
    r = admin.post(f"/portal/dead-letters/{target.id}/retry",
                   data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    row = next(c for c in _callbacks(world) if c.id == target.id)
    assert row.status == "delivered"  # retried at once, in-process
    assert [x["id"] for x in receiver.received] == [target.id]
    with factory() as s:
        retry = s.scalar(select(AuditEntry).where(AuditEntry.action == "callback.retry"))
        assert retry is not None and retry.payload["callback"] == target.id
    # retrying something that is not dead is refused; forged forms too
    assert admin.post(f"/portal/dead-letters/{target.id}/retry",
                      data={"csrf_token": csrf_of(page.text)}).status_code == 409
    assert admin.post(f"/portal/dead-letters/{dead[1].id}/retry",
                      data={"csrf_token": "forged"}).status_code == 403


def test_a_wrong_secret_is_refused_by_the_receiver(world: World, receiver: Receiver) -> None:
    _register(world, receiver)
    receiver.secret = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    _overturn(world, world.flagged[HOME])
    assert receiver.received == []
    assert len(receiver.refused) == 3
    assert {c.last_status_code for c in _callbacks(world)} == {401}


def test_no_url_no_callbacks(world: World) -> None:
    _overturn(world, world.flagged[HOME])
    assert _callbacks(world) == []


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    assert backoff_delay(1, base_s=30, cap_s=3600, draw=0.0) == 15.0
    assert backoff_delay(1, base_s=30, cap_s=3600, draw=0.999) == pytest.approx(29.985)
    assert backoff_delay(4, base_s=30, cap_s=3600, draw=0.0) == 120.0
    assert backoff_delay(20, base_s=30, cap_s=3600, draw=0.5) == 2700.0
    with pytest.raises(ValueError, match="start at 1"):
        backoff_delay(0, base_s=30, cap_s=3600, draw=0.5)



# ---------------------------------------------------------------- a real worker on Redis
RESULTS = "redis://127.0.0.1:6379/14"


@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_worker_retries_with_backoff_until_delivered(
        request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver) -> None:
    from tests.conftest import RUN_ID, _truncate_pg

    url = request.getfixturevalue("pg_migrated")
    _truncate_pg(url)
    settings = Settings(database_url=url, blob_dir=tmp_path / "blobs", broker_url=None,
                        redis_url=None, secret_key="portal-test-secret-" * 3,
                        callbacks_allow_private_targets=True)
    world = make_world(settings)
    _register(world, receiver)
    queue = f"test-callbacks-{RUN_ID}"
    env = {**os.environ, "PROCTOR_BROKER_URL": RESULTS, "PROCTOR_RESULT_BACKEND": RESULTS,
           "PROCTOR_DATABASE_URL": url, "PROCTOR_CALLBACK_BACKOFF_BASE_S": "0.3",
           "PROCTOR_CALLBACKS_ALLOW_PRIVATE_TARGETS": "1",
           "PROCTOR_CALLBACK_MAX_ATTEMPTS": "5",
           # this checkout's code, whatever the venv's editable install points at
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app", "worker",
         "--pool", "solo", "-Q", queue, "--loglevel", "WARNING", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with_broker = settings.model_copy(update={"broker_url": RESULTS, "result_backend": RESULTS})
    celery_module.configure(with_broker)
    celery_module.celery_app.conf.task_default_queue = queue
    # from now on the app's units of work send their jobs through the broker
    for app in (world.app, *(getattr(r, "app", None) for r in world.app.routes)):  # type: ignore[attr-defined]
        if hasattr(app, "state") and hasattr(app.state, "session_factory"):  # the portal's too
            app.state.session_factory = factory_for(with_broker)
    try:
        receiver.fail_next = 2
        _overturn(world, world.flagged[HOME])  # its callback goes through the broker
        subject = f"session:{world.flagged[HOME]}"
        deadline = time.monotonic() + 60
        row = None
        while time.monotonic() < deadline:
            row = next((c for c in _callbacks(world) if c.subject == subject), None)
            if row is not None and row.status == "delivered":
                break
            time.sleep(0.2)
        if row is None or row.status != "delivered":
            worker.terminate()
            out = worker.stdout.read().decode() if worker.stdout else ""
            pytest.fail(f"not delivered ({row and row.status}): {out[-2000:]}")
        assert row.attempts == 3  # two 503s, retried by Celery after a backoff, then a 204
        ours = [r for r in receiver.received if r["id"] == row.id]
        assert len(ours) == 1
        assert ours[0]["payload"]["data"]["status"] == "valid"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        celery_module.configure(get_settings())
