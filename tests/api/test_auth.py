"""CONTRACT §1: signatures, timestamp tolerance, replay refusal, one institution per key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient

from proctor.client import sign_headers
from proctor.config import Settings
from proctor.main import create_app
from tests.conftest import REDIS_PREFIX, REDIS_URL
from tests.factories import Platform, heartbeats, issue_key


def _stored_events(platform: Platform, session_id: str) -> list:
    r = platform.api.get(f"/v1/sessions/{session_id}/events")
    assert r.status_code == 200, r.text
    return r.json()["events"]


def test_signed_batch_is_accepted(platform: Platform) -> None:
    sid = platform.ready_session()
    r = platform.api.post("/v1/events", {"events": heartbeats(sid, 3)})
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 3


def test_tampered_body_is_refused_and_nothing_stored(platform: Platform, app_client: TestClient) -> None:
    sid = platform.ready_session()
    body = json.dumps({"events": heartbeats(sid, 2)}).encode()
    headers = sign_headers(platform.key_id, platform.secret, body)
    tampered = body.replace(b'"position": 10.0', b'"position": 900.0')
    assert tampered != body
    r = app_client.post("/v1/events", content=tampered, headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "signature does not match"
    assert _stored_events(platform, sid) == []


def test_replayed_webhook_id_is_refused(platform: Platform, app_client: TestClient) -> None:
    sid = platform.ready_session()
    body = json.dumps({"events": heartbeats(sid, 1)}).encode()
    headers = sign_headers(platform.key_id, platform.secret, body)
    assert app_client.post("/v1/events", content=body, headers=headers).status_code == 200
    again = app_client.post("/v1/events", content=body, headers=headers)
    assert again.status_code == 401
    assert "replay" in again.json()["error"]["message"]


@pytest.mark.parametrize("minutes", [-6, 6])
def test_timestamp_outside_five_minutes_is_refused(platform: Platform, app_client: TestClient,
                                                   minutes: int) -> None:
    body = b""
    headers = sign_headers(platform.key_id, platform.secret, body,
                           timestamp=datetime.now(UTC) + timedelta(minutes=minutes))
    r = app_client.get("/v1/institution", headers=headers)
    assert r.status_code == 401
    assert "5 minutes" in r.json()["error"]["message"]


def test_timestamp_within_tolerance_is_accepted(platform: Platform, app_client: TestClient) -> None:
    headers = sign_headers(platform.key_id, platform.secret, b"",
                           timestamp=datetime.now(UTC) - timedelta(minutes=4))
    assert app_client.get("/v1/institution", headers=headers).status_code == 200


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature",
                                     "X-Proctor-Key"])
def test_missing_header_is_refused(platform: Platform, app_client: TestClient, missing: str) -> None:
    headers = sign_headers(platform.key_id, platform.secret, b"")
    del headers[missing]
    r = app_client.get("/v1/institution", headers=headers)
    assert r.status_code == 401
    assert missing.lower() in r.json()["error"]["message"].lower()


def test_another_keys_secret_does_not_sign(platform: Platform, other_platform: Platform,
                                           app_client: TestClient) -> None:
    headers = sign_headers(platform.key_id, other_platform.secret, b"")
    assert app_client.get("/v1/institution", headers=headers).status_code == 401


def test_garbage_signature_header_is_401_not_500(platform: Platform, app_client: TestClient) -> None:
    headers = sign_headers(platform.key_id, platform.secret, b"")
    headers["webhook-signature"] = "nonsense-without-comma"
    assert app_client.get("/v1/institution", headers=headers).status_code == 401


def test_key_reaches_only_its_institution(platform: Platform, other_platform: Platform) -> None:
    sid = platform.ready_session()
    assert other_platform.api.get(f"/v1/sessions/{sid}").status_code == 404
    assert other_platform.api.get(f"/v1/sessions/{sid}/events").status_code == 404
    assert other_platform.api.get("/v1/courses/elec-101").status_code == 404
    assert other_platform.api.get("/v1/learners/stu-1").status_code == 404
    r = other_platform.api.post("/v1/events", {"events": heartbeats(sid, 2, prefix="evil")})
    assert r.status_code == 422
    assert all(x["field"] == "session_id" for x in r.json()["rejected"])
    assert _stored_events(platform, sid) == []
    # the other institution may use the same ids for its own things without touching ours
    other_platform.course()
    assert platform.api.get("/v1/courses/elec-101").json()["title"] == "电子商务师（网店运营）"


@contextmanager
def _with_redis_guard(settings: Settings) -> Iterator[tuple[TestClient, Platform]]:
    settings = settings.model_copy(update={"redis_url": REDIS_URL, "redis_prefix": REDIS_PREFIX})
    with TestClient(create_app(settings)) as client:
        yield client, issue_key(settings, client, "洛阳市职业培训中心", "410302")


@pytest.mark.redis
def test_replay_refused_with_redis_guard(settings: Settings) -> None:
    with _with_redis_guard(settings) as (client, platform):
        body = b""
        headers = sign_headers(platform.key_id, platform.secret, body)
        assert client.get("/v1/institution", headers=headers).status_code == 200
        assert client.get("/v1/institution", headers=headers).status_code == 401
        keys = redis.Redis.from_url(REDIS_URL).keys(f"{REDIS_PREFIX}webhook-id:{platform.key_id}:*")
        assert len(keys) == 1
        assert 0 < redis.Redis.from_url(REDIS_URL).ttl(keys[0]) <= 2 * 300 + 60


@pytest.mark.redis
def test_redis_guard_frees_the_id_when_the_request_fails(settings: Settings) -> None:
    """A request that fails (here: 404) is not stored, so its webhook-id may be used again."""
    with _with_redis_guard(settings) as (client, platform):
        headers = sign_headers(platform.key_id, platform.secret, b"")
        assert client.get("/v1/courses/nope", headers=headers).status_code == 404
        assert redis.Redis.from_url(REDIS_URL).keys(f"{REDIS_PREFIX}webhook-id:{platform.key_id}:*") == []


def _forget_redis_state() -> int:
    """What a Redis restart without persistence (or a FLUSHDB) does, to this run's keys only:
    the machine's Redis is shared, so never the whole database."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=500))
    return int(client.delete(*keys)) if keys else 0


@pytest.mark.redis
def test_replay_refusal_survives_redis_losing_its_state(settings: Settings) -> None:
    """Issue 10: the receipt is durable in the database; Redis is only the fast path."""
    with _with_redis_guard(settings) as (client, platform):
        headers = sign_headers(platform.key_id, platform.secret, b"")
        assert client.get("/v1/institution", headers=headers).status_code == 200
        assert _forget_redis_state() >= 1
        again = client.get("/v1/institution", headers=headers)
        assert again.status_code == 401
        assert "replay" in again.json()["error"]["message"]
        # and a fresh request is still accepted after the loss
        fresh = sign_headers(platform.key_id, platform.secret, b"")
        assert client.get("/v1/institution", headers=fresh).status_code == 200
