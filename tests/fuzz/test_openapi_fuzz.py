"""schemathesis over the app's own OpenAPI document, on PostgreSQL, with signed requests.

Every operation the document lists is called with generated requests (valid and invalid ones):
signed the Standard Webhooks way with a real platform key (the signature over the exact bytes
sent, multipart included), or, on the routes a learner's browser may call, with a real session
token, or unsigned. Half the cases aim at real records (the session, its learner, course and
challenge) so that ingest, challenges and verdicts run past the 404. Every answer must be
below 500, have a status the document declares, and a body its schema accepts (the `Error`
schema for every error).

Bounded for CI (``PROCTOR_FUZZ_EXAMPLES`` per operation, derandomized); `make fuzz` runs
many more with fresh randomness.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from proctor.client import sign_headers
from proctor.config import Settings, get_settings
from proctor.main import create_app
from proctor.workers import celery_app as celery_module
from tests.conftest import _truncate_pg
from tests.factories import Platform, issue_key
from tests.tally import tally

pytestmark = [pytest.mark.postgres]

EXAMPLES = int(os.environ.get("PROCTOR_FUZZ_EXAMPLES", "12"))
RANDOM = os.environ.get("PROCTOR_FUZZ_RANDOM", "") == "1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# the routes a learner's browser may call with `Authorization: Bearer <session token>`
TOKEN_ROUTES = ("/v1/events", "/v1/sessions/{session_id}", "/v1/sessions/{session_id}/challenge",
                "/v1/sessions/{session_id}/verdict", "/v1/sessions/{session_id}/token",
                "/v1/challenges/{challenge_id}", "/v1/challenges/{challenge_id}/answer",
                "/v1/challenges/{challenge_id}/photo")


class Signed(requests.auth.AuthBase):
    """Signs the prepared request's exact body bytes (JSON, multipart or none)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        body = r.body or b""
        raw = body.encode() if isinstance(body, str) else body
        signed = sign_headers(self.platform.key_id, self.platform.secret, raw)
        signed.pop("Content-Type")
        r.headers.update(signed)
        return r


class World:
    """The records real ids point at, made through the signed API."""

    def __init__(self, platform: Platform, client: TestClient) -> None:
        self.platform = platform
        platform.course()
        platform.learner()
        platform.enrol()
        opened = platform.session()
        self.session_id: str = opened["session_id"]
        self.token: str = opened["session_token"]
        ch = client.get(f"/v1/sessions/{self.session_id}/challenge",
                        headers={"Authorization": f"Bearer {self.token}"})
        self.challenge_id = ch.json()["challenge_id"] if ch.status_code == 200 else None
        self.real = {"session_id": self.session_id, "learner_id": "stu-1",
                     "course_id": "elec-101", "batch": "2026-11-A"}
        if self.challenge_id:
            self.real["challenge_id"] = self.challenge_id
        self.turn = itertools.count()


@pytest.fixture(scope="module")
def fuzz_app(pg_migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    _truncate_pg(pg_migrated)
    s = Settings(database_url=pg_migrated, blob_dir=tmp_path_factory.mktemp("fuzz") / "blobs",
                 broker_url=None, redis_url=None, embedded_beat_s=0,
                 archive_key_file=Path(tmp_path_factory.mktemp("fuzzkey") / "archive.pem"))
    app = create_app(s)
    with TestClient(app) as client:
        platform = issue_key(s, client, "郑州市金水区职业培训学校", "410105")
        app.state.fuzz_world = World(platform, client)
        yield app


@pytest.fixture(scope="module")
def api_schema(fuzz_app: Any) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app)


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation the document lists (it does not depend on the
    database: an app on a throwaway SQLite URL, never connected, describes it)."""
    spec = create_app(Settings(database_url="sqlite://", broker_url=None, redis_url=None,
                               embedded_beat_s=0)).openapi()
    celery_module.configure(get_settings())  # as it was before this app (collection time)
    return [(m.upper(), p) for p, ops in spec["paths"].items() for m in ops]


def _aim_at_real_records(case: Any, world: World, turn: int) -> None:
    """Every other case: path ids and events' session_id of the real records."""
    if turn % 2:
        return
    for name in list(case.path_parameters or {}):
        if name in world.real:
            case.path_parameters[name] = world.real[name]
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("events"), list):
        for e in body["events"]:
            if isinstance(e, dict):
                e["session_id"] = world.session_id


@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: str(v))
def test_no_5xx_and_every_answer_as_documented(method: str, path: str, api_schema: Any,
                                               fuzz_app: Any) -> None:
    operation = api_schema[path][method]
    strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                         operation.as_strategy(GenerationMode.NEGATIVE))
    world: World = fuzz_app.state.fuzz_world

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
              suppress_health_check=list(HealthCheck))
    def one(case: Any) -> None:
        _call_and_check(case, world)

    one()


def _call_and_check(case: Any, world: World) -> None:
    turn = next(world.turn)
    _aim_at_real_records(case, world, turn)
    headers: dict[str, str] = {}
    auth: Any = None
    if case.operation.path in TOKEN_ROUTES and turn % 3 == 1:
        headers["Authorization"] = f"Bearer {world.token}"
        tally("fuzz")["token"] += 1
    elif turn % 11 == 5:
        tally("fuzz")["unsigned"] += 1
    else:
        auth = Signed(world.platform)
        tally("fuzz")["signed"] += 1
    response = case.call(headers=headers, auth=auth)
    tally("fuzz")["requests"] += 1
    if response.status_code >= 500:
        tally("fuzz")["5xx"] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except Exception:
        tally("fuzz")["nonconforming"] += 1
        raise
