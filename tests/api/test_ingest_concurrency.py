"""8 clients posting batches over the same sessions at once, with overlapping re-sends in
different orders and session ends: no deadlock, no 500, every event stored exactly once."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from proctor.client import sign_headers
from tests.factories import Platform

CLIENTS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(database_url: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PROCTOR_DATABASE_URL": database_url,
           "PROCTOR_BLOB_DIR": str(tmp_path / "blobs")}
    env.pop("PROCTOR_BROKER_URL", None)
    env.pop("PROCTOR_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "proctor.main:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"], env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/healthz", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("server did not start")


def _all_events(sessions: list[str]) -> list[dict[str, Any]]:
    base = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for n in range(1, 61):
        for sid in sessions:
            at = (base + timedelta(seconds=n * 10)).isoformat(timespec="milliseconds")
            out.append({"id": f"e-{sid[:8]}-{n}", "session_id": sid, "seq": n, "ts": at,
                        "type": "heartbeat", "position": n * 10.0, "rate": 1.0,
                        "visible": True, "focused": True})
    for sid in sessions[:4]:
        out.append({"id": f"end-{sid[:8]}", "session_id": sid, "seq": 61,
                    "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "type": "session.end"})
    return out


# 60: one multi-row INSERT per batch; 200: COPY, straight into the table until a key is
# already there, then staged (storage/repositories/study.py, _insert_pg)
@pytest.mark.parametrize("batch", [60, 200])
def test_eight_clients_over_the_same_sessions_never_deadlock(platform: Platform,
                                                              settings: Any,
                                                              tmp_path: Path,
                                                              batch: int) -> None:
    platform.course()
    platform.learner()
    platform.enrol()
    sessions = [str(platform.session()["session_id"]) for _ in range(6)]
    events = _all_events(sessions)
    proc, url = _serve(settings.database_url, tmp_path)

    def client(n: int) -> list[int]:
        mine = events[:]  # every client re-sends every event, each in its own order
        random.Random(n).shuffle(mine)
        statuses = []
        with httpx.Client(base_url=url, timeout=120) as http:
            for i in range(0, len(mine), batch):
                body = json.dumps({"events": mine[i:i + batch]}).encode()
                r = http.post("/v1/events", content=body,
                              headers=sign_headers(platform.key_id, platform.secret, body))
                statuses.append(r.status_code)
        return statuses

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [s for batch in pool.map(client, range(CLIENTS)) for s in batch]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert set(statuses) == {200}, sorted(set(statuses))
    stored = sum(len(platform.api.get(f"/v1/sessions/{sid}/events").json()["events"])
                 for sid in sessions)
    assert stored == len(events)
    ended = [platform.api.get(f"/v1/sessions/{sid}").json()["status"] for sid in sessions]
    assert ended == ["ended"] * 4 + ["open"] * 2
