"""The examples in docs/API.md work as written, against a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from proctor.config import Settings
from proctor.services.registration import issue_platform_key
from proctor.storage.db import engine_for, session_factory, unit_of_work
from tests.e2e.conftest import LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "API.md"


def _example(kind: str) -> str:
    match = re.search(rf"<!-- example: {kind} -->\n```\w+\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"docs/API.md has no {kind} example"
    return match.group(1)


def _env(live_server: LiveServer) -> dict[str, str]:
    with unit_of_work(session_factory(engine_for(live_server.database_url))) as uow:
        key = issue_platform_key(uow, institution="文档示例培训学校", county_code="410105")
    return {**os.environ, "PROCTOR_URL": live_server.url, "KEY_ID": key.key_id,
            "SECRET": key.secret}


def test_python_example_runs(live_server: LiveServer, settings: Settings) -> None:
    out = subprocess.run([sys.executable, "-c", _example("python")], env=_env(live_server),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "200"
    assert "110***********002X" in lines[1]
    assert json.loads(lines[3].replace("'", '"'))["accepted"] == 1


def test_curl_example_runs(live_server: LiveServer, settings: Settings) -> None:
    out = subprocess.run(["bash", "-euo", "pipefail", "-c", _example("bash")], env=_env(live_server),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    institution, learner = (json.loads(x) for x in out.stdout.strip().splitlines())
    assert institution["county_code"] == "410105"
    assert learner["id_number_masked"] == "340***********001X"
