"""Telemetry ingest through the signed HTTP API (a real uvicorn server), PostgreSQL and SQLite.

The client runs in this process, the server in another (the machine has two cores). Each batch
is freshly signed. The ceiling is PostgreSQL's own COPY of the same rows, measured in the run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import text

from proctor.bench import Section
from proctor.client import sign_headers
from proctor.services.registration import issue_platform_key
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.migrate import upgrade

PG_URL = os.environ.get("PROCTOR_PG_BENCH_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/proctor_bench")
TOTAL_EVENTS = int(os.environ.get("PROCTOR_BENCH_INGEST_EVENTS", "60000"))
ROUNDS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reset_pg(url: str) -> None:
    with engine_for(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine_for(url).dispose()
    upgrade(url)


class Server:
    def __init__(self, database_url: str) -> None:
        self.port = _free_port()
        env = {**os.environ, "PROCTOR_DATABASE_URL": database_url}
        env.pop("PROCTOR_BROKER_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "proctor.main:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def _setup(database_url: str, base_url: str) -> tuple[str, str, list[str]]:
    with unit_of_work(session_factory(engine_for(database_url))) as uow:
        issued = issue_platform_key(uow, institution=f"bench-{uuid.uuid4().hex[:8]}",
                                    county_code="410105")
    http = httpx.Client(base_url=base_url, timeout=60)

    def call(method: str, path: str, payload: object) -> dict:
        body = json.dumps(payload).encode()
        r = http.request(method, path, content=body,
                         headers=sign_headers(issued.key_id, issued.secret, body))
        r.raise_for_status()
        return r.json()

    call("PUT", "/v1/courses/c1", {"title": "t", "occupation": "电工", "required_class_hours": 1,
                                   "lessons": [{"id": "L1", "seq": 1, "duration_s": 3600,
                                                "class_hours": 1}]})
    call("PUT", "/v1/learners/s1", {"real_name": "张伟", "id_number": "11010519491231002X"})
    call("PUT", "/v1/enrolments/s1/c1", {"class_batch": "A", "start_date": "2026-11-01"})
    sessions = [call("POST", "/v1/sessions", {"learner_id": "s1", "course_id": "c1",
                                              "lesson_id": "L1"})["session_id"] for _ in range(20)]
    return issued.key_id, issued.secret, sessions


def _events(sessions: list[str], n: int, tag: str) -> list[dict]:
    base = datetime.now(UTC) - timedelta(hours=1)
    out = []
    for i in range(n):
        sid = sessions[i % len(sessions)]
        seq = i // len(sessions) + 1
        out.append({"id": f"{tag}-{i}", "session_id": sid, "seq": seq,
                    "ts": (base + timedelta(seconds=seq * 10)).isoformat(timespec="milliseconds"),
                    "type": "heartbeat", "position": seq * 10.0, "rate": 1.0, "visible": True,
                    "focused": True})
    return out


def _run_ingest(base_url: str, key_id: str, secret: str, events: list[dict], batch: int) -> float:
    bodies = [json.dumps({"events": events[i:i + batch]}).encode()
              for i in range(0, len(events), batch)]
    with httpx.Client(base_url=base_url, timeout=60) as http:
        t0 = time.perf_counter()
        for body in bodies:
            r = http.post("/v1/events", content=body, headers=sign_headers(key_id, secret, body))
            if r.status_code != 200 or r.json()["accepted"] != body.count(b'"id"'):
                raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:300]}")
        return len(events) / (time.perf_counter() - t0)


def _copy_rate(url: str, events: list[dict], institution_id: int = 1) -> float:
    """PostgreSQL COPY of the same rows into the same indexed table: the ceiling."""
    now = datetime.now(UTC)
    rows = [(institution_id, e["id"] + "-copy", e["session_id"], e["seq"], "heartbeat",
             datetime.fromisoformat(e["ts"]), now, e["position"], 1.0, True, True) for e in events]
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        with conn.cursor().copy(
            "COPY events (institution_id, event_id, session_id, seq, type, client_ts, server_ts, "
            "position, rate, visible, focused) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return len(rows) / (time.perf_counter() - t0)


def _measure(database_url: str, batches: list[int], copy: bool) -> dict[str, float]:
    server = Server(database_url)
    try:
        key_id, secret, sessions = _setup(database_url, server.url)
        figures: dict[str, float] = {}
        for batch in batches:
            rates = [_run_ingest(server.url, key_id, secret,
                                 _events(sessions, TOTAL_EVENTS // ROUNDS, f"b{batch}r{r}"), batch)
                     for r in range(ROUNDS)]
            figures[f"batch{batch}"] = statistics.median(rates)
        if copy:
            rates = [_copy_rate(database_url, _events(sessions, TOTAL_EVENTS // ROUNDS, f"c{r}"))
                     for r in range(ROUNDS)]
            figures["copy"] = statistics.median(rates)
        return figures
    finally:
        server.stop()


def run() -> Section:
    _reset_pg(PG_URL)
    pg = _measure(PG_URL, [100, 1000], copy=True)
    tmp = Path(tempfile.mkdtemp(prefix="proctor-bench-"))
    try:
        sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(sqlite_url)
        lite = _measure(sqlite_url, [1000], copy=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures: dict[str, float | int | str] = {
        "ingest_pg_batch100_eps": round(pg["batch100"]),
        "ingest_pg_batch1000_eps": round(pg["batch1000"]),
        "ingest_sqlite_batch1000_eps": round(lite["batch1000"]),
        "pg_copy_rows_per_s": round(pg["copy"]),
    }
    ratio = pg["batch1000"] / pg["copy"]
    md = f"""
Signed `POST /v1/events` to a real uvicorn server (one worker process) from one client process,
{TOTAL_EVENTS // ROUNDS:,} heartbeat events per round spread over 20 sessions, median of {ROUNDS}
rounds. Every event is validated, checked against its session's institution and appended with
an idempotent bulk insert (ON CONFLICT DO NOTHING … RETURNING).

| path | events/s |
|---|---|
| PostgreSQL, batches of 100 | {figures['ingest_pg_batch100_eps']:,} |
| PostgreSQL, batches of 1000 | {figures['ingest_pg_batch1000_eps']:,} |
| SQLite (embedded default), batches of 1000 | {figures['ingest_sqlite_batch1000_eps']:,} |
| ceiling: PostgreSQL `COPY` of the same rows into the same table | {figures['pg_copy_rows_per_s']:,} |

Batches of 1000 through the API reach {ratio:.0%} of the raw COPY rate. Target: ≥ 20,000 events/s
into PostgreSQL.
"""
    return Section(title="Telemetry ingest", figures=figures, markdown=md)
