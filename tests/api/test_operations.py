"""Operations (issue 10, item 5): liveness and readiness, JSON 503s for outages, and the
operators' key commands."""

from __future__ import annotations

import json
import socket

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from proctor.cli import app as cli
from proctor.config import Settings
from proctor.main import create_app
from tests.factories import Platform


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: nothing listens there


def test_healthz_is_liveness_and_readyz_checks_the_dependencies(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json()["status"] == "ok"
    r = app_client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["database"] == "ok"


def test_readyz_is_503_naming_a_replay_store_that_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_dead_port()}/0"})
    with TestClient(create_app(down)) as client:
        assert client.get("/healthz").status_code == 200  # alive, but not ready
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["replay_store"].startswith("down")
        assert r.json()["checks"]["database"] == "ok"


def test_an_outage_answers_a_json_503_not_a_text_500(settings: Settings,
                                                     platform: Platform) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{_dead_port()}/0"})
    with TestClient(create_app(down)) as client:
        platform.api.http = client
        r = platform.api.get("/v1/institution")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["error"]["code"] == "unavailable"


def test_platform_list_rotate_revoke(settings: Settings, platform: Platform,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import proctor.config as config

    monkeypatch.setenv("PROCTOR_DATABASE_URL", settings.database_url)
    config.get_settings.cache_clear()
    runner = CliRunner()
    try:
        listed = [json.loads(line) for line in
                  runner.invoke(cli, ["platform", "list"]).stdout.splitlines() if line.strip()]
        assert any(k["key_id"] == platform.key_id for k in listed)
        assert all("secret" not in k for k in listed)
        r = runner.invoke(cli, ["platform", "rotate", platform.key_id])
        assert r.exit_code == 0, r.output
        new = json.loads(r.stdout)
        assert new["replaces"] == platform.key_id and new["secret"].startswith("whsec_")
        assert platform.api.get("/v1/institution").status_code == 401  # the old key is refused
        platform.api.key_id, platform.api.secret = new["key_id"], new["secret"]
        assert platform.api.get("/v1/institution").status_code == 200
        r = runner.invoke(cli, ["platform", "revoke", new["key_id"]])
        assert r.exit_code == 0, r.output
        assert platform.api.get("/v1/institution").status_code == 401
        assert runner.invoke(cli, ["platform", "revoke", new["key_id"]]).exit_code == 2
    finally:
        config.get_settings.cache_clear()
