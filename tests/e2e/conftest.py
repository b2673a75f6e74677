"""A real uvicorn server on a free port, on the test's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class LiveServer:
    url: str
    database_url: str
    proc: subprocess.Popen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(database_url: str, tmp_path) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {**os.environ, "PROCTOR_DATABASE_URL": database_url, "PROCTOR_BLOB_DIR": str(tmp_path / "b")}
    # the code under test (this checkout's src/), not whatever the venv's editable install names
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2] / "src"),
                                         env.get("PYTHONPATH", "")])
    for name in ("PROCTOR_BROKER_URL", "PROCTOR_REDIS_URL"):
        env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "proctor.main:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.terminate()
        pytest.fail("uvicorn did not start")
    try:
        yield LiveServer(url, database_url, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
