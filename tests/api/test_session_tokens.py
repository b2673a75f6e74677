"""Browser session tokens and CORS (CONTRACT §6, docs/sdk.md), through HTTP as a browser would.

A token reaches its own session's events, challenge, answers, photos and verdict; nothing of
another session (403), nothing of registration (401: those routes want a signature); it
expires by the service's clock, is renewed while the session is open, and dies with the session.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from tests.api.sitting import install_clock
from tests.face_flows import OBAMA2, photo
from tests.factories import Platform, ts

ORIGIN = "https://learn.example.cn"


def bearer(token: str, origin: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if origin:
        headers["Origin"] = origin
    return headers


def heartbeat(session_id: str, seq: int, prefix: str = "tok") -> dict[str, Any]:
    return {"id": f"{prefix}-{session_id[:8]}-{seq}", "session_id": session_id, "seq": seq,
            "ts": ts(), "type": "heartbeat", "position": 10.0 * seq, "rate": 1.0,
            "visible": True, "focused": True}


@pytest.fixture
def two_sessions(platform: Platform) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two learners of one institution, each with an open session (and its token)."""
    platform.course()
    for learner in ("stu-1", "stu-2"):
        platform.learner(learner)
        platform.enrol(learner)
    return platform.session("stu-1"), platform.session("stu-2")


def test_opening_a_session_returns_a_token_that_reaches_its_own_routes(
        app_client: TestClient, two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, _ = two_sessions
    sid, token = a["session_id"], a["session_token"]
    assert token and a["session_token_expires_at"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == sid and claims["lrn"] == "stu-1" and claims["exp"] - claims["iat"] == 900
    r = app_client.post("/v1/events", json={"events": [heartbeat(sid, 1)]}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    again = app_client.post("/v1/events", json={"events": [heartbeat(sid, 1)]}, headers=bearer(token))
    assert again.json()["duplicates"] == 1  # same id: harmless
    c = app_client.get(f"/v1/sessions/{sid}/challenge", headers=bearer(token))
    assert c.status_code == 200 and c.json()["kind"] == "liveness"
    state = app_client.get(f"/v1/challenges/{c.json()['challenge_id']}", headers=bearer(token))
    assert state.status_code == 200 and state.json()["status"] == "pending"
    v = app_client.get(f"/v1/sessions/{sid}/verdict", headers=bearer(token))
    assert v.status_code == 200 and v.json()["session_id"] == sid
    s = app_client.get(f"/v1/sessions/{sid}", headers=bearer(token))
    assert s.status_code == 200 and s.json()["status"] == "open"


def test_a_token_cannot_touch_another_session(
        app_client: TestClient, platform: Platform,
        two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = two_sessions
    tok_a, sid_b = a["session_token"], b["session_id"]
    for path in (f"/v1/sessions/{sid_b}/challenge", f"/v1/sessions/{sid_b}/verdict",
                 f"/v1/sessions/{sid_b}"):
        r = app_client.get(path, headers=bearer(tok_a))
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "token_scope"
    # B's challenge, issued to B's platform call: A's token can neither read nor answer it
    cid_b = platform.api.get(f"/v1/sessions/{sid_b}/challenge").json()["challenge_id"]
    assert app_client.get(f"/v1/challenges/{cid_b}", headers=bearer(tok_a)).status_code == 403
    r = app_client.post(f"/v1/challenges/{cid_b}/answer", headers=bearer(tok_a),
                        json={"answer": "0000", "answered_at": ts()})
    assert r.status_code == 403
    r = app_client.post(f"/v1/challenges/{cid_b}/photo", headers=bearer(tok_a),
                        files=[("image", ("p.jpg", photo(OBAMA2), "image/jpeg"))])
    assert r.status_code == 403
    assert platform.api.get(f"/v1/challenges/{cid_b}").json()["photos"] == []
    # a batch holding one event of B is refused whole: nothing of it is stored
    batch = {"events": [heartbeat(a["session_id"], 1), heartbeat(sid_b, 1)]}
    r = app_client.post("/v1/events", json=batch, headers=bearer(tok_a))
    assert r.status_code == 403 and r.json()["error"]["field"] == "events[1].session_id"
    for sid in (a["session_id"], sid_b):
        assert platform.api.get(f"/v1/sessions/{sid}/events").json()["events"] == []
    # nor can it mint a token for B
    assert app_client.post(f"/v1/sessions/{sid_b}/token", headers=bearer(tok_a)).status_code == 403


def test_a_token_reaches_nothing_but_session_routes(
        app_client: TestClient, two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    tok = two_sessions[0]["session_token"]
    for method, path, body in (
            ("PUT", "/v1/courses/elec-102", {"title": "x"}),
            ("GET", "/v1/learners/stu-2", None),
            ("GET", "/v1/enrolments/stu-1/elec-101", None),
            ("POST", "/v1/sessions", {"learner_id": "stu-1", "course_id": "elec-101",
                                      "lesson_id": "L1", "client": {}}),
            ("GET", "/v1/institution", None),
            ("GET", f"/v1/sessions/{two_sessions[0]['session_id']}/events", None)):
        r = app_client.request(method, path, json=body, headers=bearer(tok))
        assert r.status_code == 401, (method, path, r.text)


def test_another_institutions_token_cannot_reach_this_one(
        app_client: TestClient, other_platform: Platform,
        two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    other_platform.course()
    other_platform.learner("stu-9")
    other_platform.enrol("stu-9")
    tok = other_platform.session("stu-9")["session_token"]
    sid = two_sessions[0]["session_id"]
    assert app_client.get(f"/v1/sessions/{sid}/verdict", headers=bearer(tok)).status_code == 403
    r = app_client.post("/v1/events", json={"events": [heartbeat(sid, 1)]}, headers=bearer(tok))
    assert r.status_code == 403


def test_forged_and_malformed_tokens_are_refused(
        app_client: TestClient, two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, _ = two_sessions
    sid = a["session_id"]
    claims = jwt.decode(a["session_token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(a["session_token"])["kid"]
    forged = jwt.encode(claims, b"x" * 32, algorithm="HS256", headers={"kid": kid})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": kid})
    for token in (forged, unsigned, "not-a-token", a["session_token"][:-4] + "AAAA"):
        r = app_client.get(f"/v1/sessions/{sid}/challenge", headers=bearer(token))
        assert r.status_code == 401, (token, r.text)
    r = app_client.get(f"/v1/sessions/{sid}/challenge", headers={"Authorization": "Basic abc"})
    assert r.status_code == 401


def test_tokens_expire_by_the_service_clock_and_renew_while_open(
        app_client: TestClient, platform: Platform) -> None:
    clock = install_clock(app_client, datetime.now(UTC))
    sid = platform.ready_session()
    minted = platform.api.post(f"/v1/sessions/{sid}/token")  # the platform's backend, signed
    assert minted.status_code == 200, minted.text
    token = minted.json()["token"]
    assert minted.json()["expires_in"] == 900
    clock.advance(840)
    renewed = app_client.post(f"/v1/sessions/{sid}/token", headers=bearer(token))  # the browser
    assert renewed.status_code == 200, renewed.text
    fresh = renewed.json()["token"]
    clock.advance(61)  # the first token is now 901 s old
    r = app_client.get(f"/v1/sessions/{sid}/challenge", headers=bearer(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    assert app_client.post(f"/v1/sessions/{sid}/token", headers=bearer(token)).status_code == 401
    assert app_client.get(f"/v1/sessions/{sid}/challenge", headers=bearer(fresh)).status_code == 200


def test_a_token_dies_with_its_session(app_client: TestClient, platform: Platform) -> None:
    sid = platform.ready_session()
    token = platform.api.post(f"/v1/sessions/{sid}/token").json()["token"]
    end = {"id": f"end-{sid[:8]}", "session_id": sid, "seq": 1, "ts": ts(), "type": "session.end"}
    assert app_client.post("/v1/events", json={"events": [end]}, headers=bearer(token)).status_code == 200
    r = app_client.post("/v1/events", json={"events": [heartbeat(sid, 2)]}, headers=bearer(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    assert app_client.get(f"/v1/sessions/{sid}/challenge", headers=bearer(token)).status_code == 401
    assert app_client.post(f"/v1/sessions/{sid}/token", headers=bearer(token)).status_code == 401
    # the platform cannot mint one for an ended session either
    assert platform.api.post(f"/v1/sessions/{sid}/token").status_code == 409
    # reading its own verdict stays possible until the token runs out
    assert app_client.get(f"/v1/sessions/{sid}/verdict", headers=bearer(token)).status_code == 200


def test_cors_only_for_the_institutions_registered_origins(
        app_client: TestClient, platform: Platform, other_platform: Platform,
        two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    sid, token = two_sessions[0]["session_id"], two_sessions[0]["session_token"]
    r = platform.api.put("/v1/institution", {"allowed_origins": [ORIGIN, ORIGIN]})
    assert r.status_code == 200 and r.json()["allowed_origins"] == [ORIGIN]
    assert other_platform.api.put(
        "/v1/institution", {"allowed_origins": ["https://other.example.cn"]}).status_code == 200
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    ok = app_client.options("/v1/events", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in ok.headers["access-control-allow-headers"]
    evil = app_client.options("/v1/events", headers={"Origin": "https://evil.example", **preflight})
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    # registration never answers a browser, whatever the origin
    reg = app_client.options("/v1/courses/elec-101", headers={"Origin": ORIGIN, **preflight})
    assert "access-control-allow-origin" not in reg.headers
    # the real request: allowed from the institution's origin, with the header the browser needs
    r = app_client.post("/v1/events", json={"events": [heartbeat(sid, 1)]},
                        headers=bearer(token, ORIGIN))
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == ORIGIN
    # another institution's origin is registered, but not by this one: refused, nothing stored
    r = app_client.post("/v1/events", json={"events": [heartbeat(sid, 2)]},
                        headers=bearer(token, "https://other.example.cn"))
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    r = app_client.post("/v1/events", json={"events": [heartbeat(sid, 3)]},
                        headers=bearer(token, "https://evil.example"))
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    seqs = [e["seq"] for e in platform.api.get(f"/v1/sessions/{sid}/events").json()["events"]]
    assert seqs == [1]
    # omitted: unchanged; [] clears them
    assert platform.api.put("/v1/institution", {}).json()["allowed_origins"] == [ORIGIN]
    assert platform.api.put("/v1/institution", {"allowed_origins": []}).json()["allowed_origins"] == []
    r = app_client.options("/v1/events", headers={"Origin": ORIGIN, **preflight})
    assert r.status_code == 403


@pytest.mark.parametrize("origin", ["learn.example.cn", "https://learn.example.cn/", "ftp://x.cn",
                                    "https://x.cn/path"])
def test_allowed_origins_must_be_origins(platform: Platform, origin: str) -> None:
    r = platform.api.put("/v1/institution", {"allowed_origins": [origin]})
    assert r.status_code == 422 and r.json()["error"]["field"].startswith("allowed_origins")


def test_the_platform_secret_is_never_in_a_token(
        platform: Platform, two_sessions: tuple[dict[str, Any], dict[str, Any]]) -> None:
    token = two_sessions[0]["session_token"]
    raw = httpx.URL(f"http://x/?t={token}").query.decode()
    assert platform.secret not in raw
    assert platform.secret.split("_", 1)[1] not in str(jwt.decode(token, options={"verify_signature": False}))
