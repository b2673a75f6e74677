"""Hostile input (issue 10, item 1): every bad value a 4xx naming the problem, bodies bounded
while they stream, and (for the ingest path) a bad event rejected alone."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from proctor.config import Settings
from proctor.main import create_app
from tests.factories import Platform, heartbeats, resident_id, ts

CHUNK = 64 * 1024


def _call_asgi(settings: Settings, path: str, headers: list[tuple[bytes, bytes]],
               chunks: int) -> tuple[int, int, dict[str, Any]]:
    """Send ``chunks`` chunks of CHUNK bytes (more_body until the last) straight into the app;
    returns (status, bytes the app pulled, JSON body)."""
    app = create_app(settings)
    pulled = 0
    sent = 0
    out: dict[str, Any] = {"status": None, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled, sent
        if sent >= chunks:
            return {"type": "http.disconnect"}
        sent += 1
        pulled += CHUNK
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": sent < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out["status"] = message["status"]
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    return out["status"], pulled, json.loads(out["body"] or b"{}")


def test_an_unsigned_chunked_body_is_refused_before_more_than_the_limit_is_read(
        settings: Settings) -> None:
    limit = settings.max_body_bytes
    chunks = 8 * limit // CHUNK  # 8 MiB offered, no Content-Length, no signature
    status, pulled, body = _call_asgi(settings, "/v1/events",
                                      [(b"content-type", b"application/json"),
                                       (b"transfer-encoding", b"chunked")], chunks)
    assert status == 413
    assert body["error"]["code"] == "too_large"
    assert pulled <= limit + CHUNK  # never read past the limit (plus the chunk that crossed it)


def test_a_declared_content_length_over_the_limit_is_refused_unread(settings: Settings) -> None:
    status, pulled, body = _call_asgi(
        settings, "/v1/events", [(b"content-length", str(512 * 1024 * 1024).encode())], 8)
    assert status == 413 and pulled == 0
    assert "at most" in body["error"]["message"]


def test_photo_uploads_keep_their_larger_limit_and_are_still_bounded(settings: Settings) -> None:
    from proctor.api.uploads import MAX_UPLOAD_BODY

    chunks = 2 * MAX_UPLOAD_BODY // CHUNK
    status, pulled, _ = _call_asgi(settings, "/v1/challenges/x/photo",
                                   [(b"transfer-encoding", b"chunked")], chunks)
    assert status == 413
    assert settings.max_body_bytes < pulled <= MAX_UPLOAD_BODY + CHUNK


def _learner(platform: Platform, **fields: Any) -> Any:
    body = {"real_name": "张伟", "id_number": resident_id(), **fields}
    return platform.api.put("/v1/learners/stu-h1", body)


@pytest.mark.parametrize(("raw", "problem"), [
    (b'{"real_name": "\\u5f20\\u0000", "id_number": "%s"}', "NUL"),
    (b'{"real_name": "\\ud800", "id_number": "%s"}', "surrogate"),
    (b'{"real_name": "x", "id_number": "%s", "extra": NaN}', "NaN"),
    (b'{"real_name": "x", "id_number": "%s", "extra": -Infinity}', "Infinity"),
])
def test_unstorable_json_is_a_400_naming_the_problem(platform: Platform, raw: bytes,
                                                      problem: str) -> None:
    r = platform.api.put("/v1/learners/stu-h1", raw=raw % resident_id().encode())
    assert r.status_code == 400, r.text
    assert problem in r.json()["error"]["message"]
    assert platform.api.get("/v1/learners/stu-h1").status_code == 404  # nothing stored


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deep_nesting_is_a_400(platform: Platform, depth: int) -> None:
    nested = b"[" * depth + b"]" * depth
    r = platform.api.put("/v1/learners/stu-h1",
                         raw=b'{"real_name": "x", "id_number": "1", "extra": ' + nested + b"}")
    assert r.status_code == 400, r.text
    assert "nested" in r.json()["error"]["message"]


def test_nul_in_a_session_open_is_a_400(platform: Platform) -> None:
    platform.course()
    platform.learner()
    platform.enrol()
    r = platform.api.post("/v1/sessions", {"learner_id": "stu-1", "course_id": "elec-101",
                                           "lesson_id": "L1",
                                           "client": {"user_agent": "Mozilla\x00", "ip": "1.2.3.4"}})
    assert r.status_code == 400, r.text


# ---------------------------------------------------------------- the ingest path (issue 13)
def _one_bad_among_good(platform: Platform, bad: dict[str, Any]) -> None:
    sid = platform.ready_session()
    good = heartbeats(sid, 5)
    bad = {"id": "bad-1", "session_id": sid, "seq": 99, "ts": ts(), "type": "heartbeat",
           "position": 1.0, "rate": 1.0, "visible": True, "focused": True, **bad}
    raw = json.dumps({"events": [*good[:3], bad, *good[3:]]}).encode()  # \\u escapes kept
    r = platform.api.post("/v1/events", raw=raw)
    assert r.status_code in (200, 207), r.text
    out = r.json()
    assert out["accepted"] == 5
    assert [x["id"] for x in out["rejected"]] == ["bad-1"]
    stored = platform.api.get(f"/v1/sessions/{sid}/events")
    assert stored.status_code == 200 and len(stored.json()["events"]) == 5
    assert platform.api.get(f"/v1/sessions/{sid}/verdict").status_code == 200


@pytest.mark.parametrize("bad", [
    {"seq": 2**40},
    {"position": 10**400},
    {"ts": "0001-01-01T00:00:00.000+14:00"},
    {"ts": "9999-12-31T23:59:59.000-14:00"},
    {"player_version": "3.2\x00"},
    {"note": "\ud800"},
], ids=["seq-2^40", "position-huge", "ts-before-year-1", "ts-after-9999", "nul-extra",
        "surrogate-extra"])
def test_one_bad_event_is_rejected_alone_and_the_rest_stored(platform: Platform,
                                                             bad: dict[str, Any]) -> None:
    _one_bad_among_good(platform, bad)
