"""On the embedded default (no broker) the API process does beat's periodic work itself."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient

from proctor.config import Settings
from proctor.main import create_app
from proctor.storage.db import utcnow
from tests.factories import heartbeats, issue_key, ts


def test_a_held_verdict_settles_without_any_request(settings: Settings) -> None:
    settings = settings.model_copy(update={"embedded_beat_s": 0.2})
    app = create_app(settings)
    with TestClient(app) as client:
        platform = issue_key(settings, client, "许昌市职业培训学校", "411002")
        sid = platform.ready_session()
        events = heartbeats(sid, 3)
        # seq 4 never arrives: the verdict is held while it might still be in flight
        events.append({"id": f"end-{sid}", "session_id": sid, "seq": 5, "ts": ts(), "type": "session.end"})
        assert platform.api.post("/v1/events", {"events": events}).status_code == 200
        held = platform.api.get(f"/v1/sessions/{sid}/verdict").json()
        assert held["status"] == "pending"
        assert any("in flight" in r for r in held["pending_reasons"])

        app.state.clock = lambda: utcnow() + timedelta(minutes=10)  # the wait is over
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            verdict = platform.api.get(f"/v1/sessions/{sid}/verdict").json()
            if verdict["status"] != "pending":
                break
            time.sleep(0.2)
        assert verdict["status"] == "invalid"  # no liveness check ever passed
        assert "FACE_LIVENESS" in {v["rule"] for v in verdict["violations"]}
        assert not any("in flight" in r for r in verdict["pending_reasons"])


def test_no_embedded_beat_with_a_broker(settings: Settings) -> None:
    settings = settings.model_copy(update={"embedded_beat_s": 0.05,
                                           "broker_url": "redis://127.0.0.1:6379/13"})
    app = create_app(settings)
    calls: list[object] = []
    import proctor.workers.embedded_beat as beat

    original = beat.beat_once
    beat.beat_once = lambda now, *rest: calls.append(now) or {}  # type: ignore[assignment]
    try:
        with TestClient(app):
            time.sleep(0.3)
    finally:
        beat.beat_once = original
        from proctor.config import get_settings
        from proctor.workers.celery_app import configure

        configure(get_settings())
    assert calls == []
