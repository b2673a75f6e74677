"""CONTRACT §3: telemetry batches, idempotent per event, per-event reasons, nothing half-written."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from proctor.client import sign_headers
from tests.factories import Platform, heartbeats, ts


def _events(platform: Platform, sid: str) -> list:
    return platform.api.get(f"/v1/sessions/{sid}/events").json()["events"]


def test_batch_is_stored_and_read_back_in_seq_order(platform: Platform) -> None:
    sid = platform.ready_session()
    batch = heartbeats(sid, 5)
    r = platform.api.post("/v1/events", {"events": list(reversed(batch))})
    assert r.json() == {"received": 5, "accepted": 5, "duplicates": 0, "rejected": []}
    stored = _events(platform, sid)
    assert [e["seq"] for e in stored] == [1, 2, 3, 4, 5]
    assert stored[1]["position"] == 10.0 and stored[1]["visible"] is True
    # the server's receive time is kept beside the client's
    assert all(e["received_at"] and e["ts"] for e in stored)
    assert stored[0]["received_at"] != stored[0]["ts"]


def test_resending_is_harmless(platform: Platform) -> None:
    sid = platform.ready_session()
    batch = heartbeats(sid, 4)
    platform.api.post("/v1/events", {"events": batch[:2]})
    r = platform.api.post("/v1/events", {"events": batch + batch[:1]})
    assert r.json()["accepted"] == 2 and r.json()["duplicates"] == 3
    assert len(_events(platform, sid)) == 4


def test_every_event_type_is_stored(platform: Platform) -> None:
    sid = platform.ready_session()
    kinds = [
        {"type": "play", "position": 0.0},
        {"type": "ratechange", "rate": 1.0},
        {"type": "seek", "from": 12.5, "to": 3.0},
        {"type": "visibility", "state": "hidden"},
        {"type": "focus", "state": "blur"},
        {"type": "pause", "position": 20.0},
        {"type": "lesson.complete", "position": 2400.0},
        {"type": "session.end"},
    ]
    events = [{"id": f"k{i}", "session_id": sid, "seq": i + 1, "ts": ts(i), **k}
              for i, k in enumerate(kinds)]
    events[0]["player_version"] = "3.2.1"  # a field the contract may add later is kept
    r = platform.api.post("/v1/events", {"events": events})
    assert r.status_code == 200, r.text
    stored = _events(platform, sid)
    assert [e["type"] for e in stored] == [k["type"] for k in kinds]
    assert stored[2]["from"] == 12.5 and stored[2]["to"] == 3.0
    assert stored[0]["player_version"] == "3.2.1"
    session = platform.api.get(f"/v1/sessions/{sid}").json()
    assert session["status"] == "ended" and session["ended_at"] is not None


def test_bad_events_are_rejected_one_by_one_and_the_rest_stored(platform: Platform,
                                                                other_platform: Platform) -> None:
    sid = platform.ready_session()
    good = heartbeats(sid, 2)
    bad = [
        {"id": "u1", "session_id": sid, "seq": 9, "ts": ts(), "type": "teleport"},
        {"id": "u2", "session_id": sid, "seq": 10, "ts": ts(), "type": "play"},
        {"id": "u3", "session_id": sid, "seq": 11, "ts": ts(), "type": "heartbeat", "position": 1,
         "rate": 1, "visible": "yes", "focused": True},
        {"id": "u4", "session_id": sid, "seq": 12, "ts": "2026-11-23 10:00", "type": "pause",
         "position": 1},
        {"id": "u5", "session_id": "00000000-0000-0000-0000-000000000000", "seq": 1, "ts": ts(),
         "type": "play", "position": 0},
        {"id": "u6", "session_id": sid, "seq": 0, "ts": ts(), "type": "play", "position": 0},
        {"id": "u7", "session_id": sid, "seq": 13, "ts": "2026-11-23T10:00:00", "type": "play",
         "position": 0},
        "not an object",
        {"id": "u9", "session_id": sid, "seq": 14, "ts": ts(), "type": "ratechange", "rate": -1},
    ]
    r = platform.api.post("/v1/events", {"events": good + bad})
    assert r.status_code == 207, r.text
    out = r.json()
    assert out["accepted"] == 2
    reasons = {x["index"]: (x["field"], x["reason"]) for x in out["rejected"]}
    assert reasons[2][0] == "type" and "teleport" in reasons[2][1]
    assert reasons[3] == ("position", "position: missing")
    assert reasons[4][0] == "visible"
    assert reasons[5][0] == "ts"
    assert reasons[6][0] == "session_id" and "unknown session" in reasons[6][1]
    assert reasons[7][0] == "seq"
    assert reasons[8][0] == "ts"  # no offset
    assert reasons[9][1] == "each event must be a JSON object"
    assert reasons[10][0] == "rate"
    assert len(out["rejected"]) == 9
    assert len(_events(platform, sid)) == 2


def test_oversize_batch_is_refused_whole(platform: Platform) -> None:
    sid = platform.ready_session()
    r = platform.api.post("/v1/events", {"events": heartbeats(sid, 1001)})
    assert r.status_code == 413
    assert "1001" in r.json()["error"]["message"] and r.json()["error"]["field"] == "events"
    assert _events(platform, sid) == []


def test_body_over_one_mebibyte_is_refused(platform: Platform) -> None:
    sid = platform.ready_session()
    events = heartbeats(sid, 900)
    for e in events:
        e["padding"] = "x" * 1200
    r = platform.api.post("/v1/events", {"events": events})
    assert r.status_code == 413
    assert _events(platform, sid) == []


def test_malformed_json_is_400(platform: Platform, app_client: TestClient) -> None:
    body = b'{"events": [ {"id": '
    r = app_client.post("/v1/events", content=body,
                        headers=sign_headers(platform.key_id, platform.secret, body))
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"]["message"]


def test_wrong_shape_is_422(platform: Platform) -> None:
    r = platform.api.post("/v1/events", {"evts": []})
    assert r.status_code == 422 and r.json()["error"]["field"] == "events"
    r = platform.api.post("/v1/events", {"events": {"id": 1}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "events"


def test_unicode_and_large_valid_batch(platform: Platform) -> None:
    sid = platform.ready_session()
    events = heartbeats(sid, 1000)
    events[0]["note"] = "学习中"
    r = platform.api.post("/v1/events", {"events": events})
    assert r.status_code == 200 and r.json()["accepted"] == 1000
    assert _events(platform, sid)[0]["note"] == "学习中"
    assert json.loads(json.dumps(r.json()))["rejected"] == []


def test_resending_part_of_a_large_batch_stores_only_the_new_events(platform: Platform) -> None:
    """Large batches are COPYed straight in until a key is already stored; then staged."""
    sid = platform.ready_session()
    batch = heartbeats(sid, 300)
    first = platform.api.post("/v1/events", {"events": batch[100:200]})
    assert first.json()["accepted"] == 100
    r = platform.api.post("/v1/events", {"events": batch})
    assert (r.json()["accepted"], r.json()["duplicates"]) == (200, 100)
    again = platform.api.post("/v1/events", {"events": batch})
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 300)
    stored = _events(platform, sid)
    assert sorted(e["id"] for e in stored) == sorted(e["id"] for e in batch)


def test_events_whose_keys_collide_are_all_kept_and_still_idempotent(platform: Platform,
                                                                     monkeypatch) -> None:
    """Every event's hash made the same: within a batch (small and COPYed), across batches and
    on re-sends, each event is stored once under its own key, and nothing is counted twice."""
    from proctor.storage.repositories import study

    monkeypatch.setattr(study, "event_key", lambda sid, day, eid: study.key_floor(day) | 7)
    sid = platform.ready_session()
    batch = heartbeats(sid, 150)
    small = platform.api.post("/v1/events", {"events": batch[:5]})
    assert (small.json()["accepted"], small.json()["duplicates"]) == (5, 0)
    large = platform.api.post("/v1/events", {"events": batch})
    assert (large.json()["accepted"], large.json()["duplicates"]) == (145, 5)
    again = platform.api.post("/v1/events", {"events": batch[::-1]})
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 150)
    stored = _events(platform, sid)
    assert sorted(e["seq"] for e in stored) == list(range(1, 151))


def test_a_batch_that_fails_before_its_commit_leaves_nothing(platform: Platform,
                                                              app_client: TestClient) -> None:
    """The route checks the caller, stores the batch and commits in one trip to a worker
    thread: a failure after the events were written but before that commit rolls all of it
    back, the webhook-id's receipt with them, so the same signed request is taken again."""
    sid = platform.ready_session()
    body = json.dumps({"events": heartbeats(sid, 3)}).encode()
    headers = sign_headers(platform.key_id, platform.secret, body)
    hooks = app_client.app.state.on_sessions_to_evaluate

    def fail(*_args: object) -> None:
        raise RuntimeError("a hook failed after the insert")

    app_client.app.state.on_sessions_to_evaluate = [*hooks, fail]
    try:
        with pytest.raises(RuntimeError, match="after the insert"):
            app_client.post("/v1/events", content=body, headers=headers)
    finally:
        app_client.app.state.on_sessions_to_evaluate = hooks
    assert _events(platform, sid) == []
    r = app_client.post("/v1/events", content=body, headers=headers)  # the very same request
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3
    assert [e["seq"] for e in _events(platform, sid)] == [1, 2, 3]
