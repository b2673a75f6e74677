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
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from proctor.bench import Section, postgres_cpu_s, process_cpu_s
from proctor.client import sign_headers
from proctor.services.registration import issue_platform_key
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.migrate import upgrade
from proctor.storage.repositories import study as study_repo

PG_URL = os.environ.get("PROCTOR_PG_BENCH_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/proctor_bench")
TOTAL_EVENTS = int(os.environ.get("PROCTOR_BENCH_INGEST_EVENTS", "60000"))
SMALL_EVENTS = int(os.environ.get("PROCTOR_BENCH_INGEST_SMALL", "3000"))  # per round, batches of 10
CONCURRENT_EVENTS = int(os.environ.get("PROCTOR_BENCH_INGEST_CONCURRENT", "3000"))  # per client
ROUNDS = 3
RALPH_VERSION = "5.1.0"
RALPH_DIR = Path(__file__).resolve().parents[3] / "var" / "ralph"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ensure_db(url: str) -> None:
    """Create the bench's own database when it is missing (the server is shared)."""
    from sqlalchemy import create_engine

    base, name = url.rsplit("/", 1)
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                            {"n": name}).first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


def _reset_pg(url: str) -> None:
    _ensure_db(url)
    with engine_for(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine_for(url).dispose()
    upgrade(url)


class Server:
    """uvicorn serving the app in its own process (``env``: more PROCTOR_* settings)."""

    def __init__(self, database_url: str, *, port: int | None = None,
                 env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.port = port or _free_port()
        env = {**os.environ, "PROCTOR_DATABASE_URL": database_url, **(env or {})}
        env.pop("PROCTOR_BROKER_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "proctor.main:create_app", "--factory", "--host",
             "127.0.0.1", "--port", str(self.port), "--log-level", "warning", "--no-access-log",
             *(["--workers", str(workers)] if workers > 1 else [])],
            env=env)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                if workers == 1 or len(self._children()) >= workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not start")

    def _children(self) -> list[str]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return path.read_text().split() if path.exists() else []

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


_RALPH_LAUNCHER = """
import sys
import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

_write = FSLRSBackend.write


def write(self, data, target=None, chunk_size=None, ignore_errors=False, operation_type=None):
    return _write(self, data, target, chunk_size, ignore_errors, BaseOperationType.APPEND)


FSLRSBackend.write = write
uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""


class Ralph:
    """Ralph LRS (the xAPI store a platform would otherwise pick), in a throwaway venv under
    var/ made at bench time from PyPI, served by uvicorn (one worker) on its fs backend."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, tmp: Path) -> None:
        self.proc, self.url, self.tmp = proc, url, tmp

    @classmethod
    def start(cls) -> Ralph | None:
        py = RALPH_DIR / "bin" / "python"
        try:
            if not py.exists():
                subprocess.run([sys.executable, "-m", "venv", str(RALPH_DIR)], check=True)
            probe_env = {**os.environ, "RALPH_RUNSERVER_BACKEND": "fs"}
            probe = subprocess.run([str(py), "-c", "import ralph.api"], capture_output=True,
                                   env=probe_env)
            if probe.returncode != 0:
                # ralph.api imports requests (OIDC) without the [lrs] extra declaring it
                subprocess.run([str(py), "-m", "pip", "install", "-q",
                                f"ralph-malph[lrs]=={RALPH_VERSION}", "requests"], check=True,
                               timeout=600)
        except (subprocess.SubprocessError, OSError) as exc:
            print(f"bench: Ralph not available ({exc}); its figures are left out", flush=True)
            return None
        hashed = subprocess.run(
            [str(py), "-c", "import bcrypt; print(bcrypt.hashpw(b'bench', bcrypt.gensalt()).decode())"],
            capture_output=True, text=True, check=True).stdout.strip()
        tmp = Path(tempfile.mkdtemp(prefix="proctor-ralph-"))
        (tmp / "auth.json").write_text(json.dumps([{
            "agent": {"mbox": "mailto:bench@example.org"}, "scopes": ["all"],
            "username": "bench", "hash": hashed}]))
        port = _free_port()
        env = {**os.environ, "RALPH_RUNSERVER_BACKEND": "fs", "RALPH_APP_DIR": str(tmp),
               "RALPH_AUTH_FILE": str(tmp / "auth.json"),
               "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(tmp / "lrs")}
        (tmp / "lrs").mkdir()
        # Ralph's fs backend refuses a second write to its one file (operation "create"); the
        # launcher switches its writes to "append": Ralph's API, validation and serialisation
        # over the cheapest store it has (Elasticsearch, MongoDB or ClickHouse cost more and
        # are not packaged here), so the peer is measured generously.
        (tmp / "ralph_append.py").write_text(_RALPH_LAUNCHER)
        proc = subprocess.Popen([str(py), "ralph_append.py", str(port)], env=env, cwd=tmp)
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(url + "/__heartbeat__", timeout=1)
                return cls(proc, url, tmp)
            except httpx.HTTPError:
                time.sleep(0.1)
        proc.terminate()
        return None

    def rate(self, events: list[dict], batch: int) -> float:
        statements = [{
            "id": str(uuid.uuid4()),
            "actor": {"objectType": "Agent", "mbox": f"mailto:{e['session_id'][:8]}@example.org"},
            "verb": {"id": "https://w3id.org/xapi/video/verbs/played"},
            "object": {"objectType": "Activity", "id": "https://example.org/lessons/L1"},
            "timestamp": e["ts"],
            "result": {"extensions": {"https://w3id.org/xapi/video/extensions/time":
                                      e["position"]}},
        } for e in events]
        bodies = [json.dumps(statements[i:i + batch]).encode()
                  for i in range(0, len(statements), batch)]
        with httpx.Client(base_url=self.url, timeout=120, auth=("bench", "bench")) as http:
            t0 = time.perf_counter()
            for body in bodies:
                r = http.post("/xAPI/statements/", content=body,
                              headers={"Content-Type": "application/json"})
                if r.status_code != 200:
                    raise RuntimeError(f"ralph: {r.status_code} {r.text[:300]}")
            return len(statements) / (time.perf_counter() - t0)

    def rate_on_empty_store(self, events: list[dict], batch: int) -> float:
        """``rate`` with the statements stored so far set aside: Ralph's fs backend reads its
        whole file on every POST (duplicate ids), so small batches slow down as it grows;
        measured from an empty store, the peer is measured at its best."""
        store, aside = self.tmp / "lrs", self.tmp / "lrs-aside"
        store.rename(aside)
        store.mkdir()
        try:
            return self.rate(events, batch)
        finally:
            shutil.rmtree(store)
            aside.rename(store)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)
        shutil.rmtree(self.tmp, ignore_errors=True)


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

    call("PUT", "/v1/courses/c1", {"title": "t", "occupation": "物流信息员",
                                   "offline_practical_hours": 8, "required_class_hours": 1,
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


def _bodies(events: list[dict], batch: int) -> list[bytes]:
    """``events`` as request bodies of ``batch`` events each."""
    return [json.dumps({"events": events[i:i + batch]}).encode()
            for i in range(0, len(events), batch)]


def _post_all(http: httpx.Client, key_id: str, secret: str, bodies: list[bytes]) -> None:
    """Post each body, signed as it is sent; every event must be accepted."""
    for body in bodies:
        r = http.post("/v1/events", content=body, headers=sign_headers(key_id, secret, body))
        if r.status_code != 200 or r.json()["accepted"] != body.count(b'"id"'):
            raise RuntimeError(f"ingest failed: {r.status_code} {r.text[:300]}")


def _run_ingest(base_url: str, key_id: str, secret: str, events: list[dict], batch: int) -> float:
    bodies = _bodies(events, batch)
    t0 = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=60) as http:
        _post_all(http, key_id, secret, bodies)
    return len(events) / (time.perf_counter() - t0)


_COPY_EVENTS = f"COPY events ({', '.join(study_repo.EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _copy_rows(url: str, events: list[dict]) -> list[tuple]:
    """The rows the API would store for ``events`` (keys computed), ready for COPY."""
    with psycopg.connect(_dsn(url)) as conn:
        started: dict[str, Any] = dict(
            conn.execute("SELECT id, started_at FROM study_sessions").fetchall())
    now = datetime.now(UTC)
    events_in = [(e["session_id"], e["id"] + "-copy", e["seq"], e["type"],
                  datetime.fromisoformat(e["ts"]), now,
                  (e["position"], None, None, e["rate"], e["visible"], e["focused"], None), None)
                 for e in events]
    return study_repo.event_rows(events_in, {sid: study_repo.day_number(at)
                                             for sid, at in started.items()})


def _copy_rate(url: str, rows: list[tuple], *, batch: int | None = None,
               cpu: list[float] | None = None) -> float:
    """PostgreSQL COPY of the same rows into the same indexed table: the ceiling. ``batch``:
    one COPY and one commit per that many rows (the database's own cost of storing batches one
    at a time, what the API would reach if it added nothing); else one COPY of them all.
    ``cpu``: PostgreSQL's CPU seconds for it are appended there (when /proc shows them)."""
    step = batch or len(rows)
    with psycopg.connect(_dsn(url)) as conn:
        pg0 = postgres_cpu_s()  # with this connection's backend started
        t0 = time.perf_counter()
        for start in range(0, len(rows), step):
            study_repo.copy_rows(conn.cursor(), _COPY_EVENTS, rows[start:start + step])
            conn.commit()
        rate = len(rows) / (time.perf_counter() - t0)
        pg1 = postgres_cpu_s()
    if cpu is not None and pg0 is not None and pg1 is not None:
        cpu.append(pg1 - pg0)
    return rate


def _deadlocks(url: str) -> int:
    with psycopg.connect(_dsn(url)) as conn:
        row = conn.execute("SELECT deadlocks FROM pg_stat_database "
                           "WHERE datname = current_database()").fetchone()
        return int(row[0]) if row else 0


def _concurrent(url: str, server: Server, key_id: str, secret: str, sessions: list[str],
                clients: int = 8, per_client: int = CONCURRENT_EVENTS, batch: int = 100) -> dict[str, float]:
    """``clients`` at once over the same sessions, each re-sending a third of another's
    events (the unique index's waits) in its own order: throughput, latencies, deadlocks."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    pools = [_events(sessions, per_client, f"cc{c}") for c in range(clients)]
    mixed = []
    for c in range(clients):
        mine = pools[c] + pools[(c + 1) % clients][: per_client // 3]
        random.Random(c).shuffle(mine)
        mixed.append(mine)
    before = _deadlocks(url)
    errors = [0]

    def run(events: list[dict]) -> list[float]:
        bodies = _bodies(events, batch)
        took = []
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for body in bodies:
                t0 = time.perf_counter()
                r = http.post("/v1/events", content=body,
                              headers=sign_headers(key_id, secret, body))
                took.append(time.perf_counter() - t0)
                if r.status_code >= 500:
                    errors[0] += 1
        return took

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        took = sorted(x for part in pool.map(run, mixed) for x in part)
    wall = time.perf_counter() - t0
    return {"eps": sum(len(m) for m in mixed) / wall, "p50_ms": took[len(took) // 2] * 1000,
            "p99_ms": took[int(len(took) * 0.99)] * 1000, "requests": len(took),
            "deadlocks": _deadlocks(url) - before, "errors_5xx": errors[0]}


# The deployed form beside PostgreSQL at its best on the same machine: the API as the image
# runs it (docker/Dockerfile: uvicorn --workers 2, this machine's two cores), platforms sending
# batches of 1000 from several processes at once; COPY of the same rows from 1, 2 and 4
# processes at once, the best of them the ceiling.
PARALLEL_WORKERS = 2
PARALLEL_CLIENTS = 4
PARALLEL_COPY_STREAMS = (1, 2, 4)
PARALLEL_ROUNDS = 5
PARALLEL_EVENTS = int(os.environ.get("PROCTOR_BENCH_INGEST_PARALLEL", "40000"))  # per round


def _in_processes(target: Any, jobs: Sequence[tuple[Any, ...]]) -> float:
    """Run ``target(*job, queue, barrier)`` in one forked process per job, all started at once
    behind a barrier; the seconds from the first start to the last finish."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue, barrier = ctx.Queue(), ctx.Barrier(len(jobs))
    procs = [ctx.Process(target=target, args=(*job, queue, barrier)) for job in jobs]
    for p in procs:
        p.start()
    spans = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs) or any(span is None for span in spans):
        raise RuntimeError("a bench process failed (see its output above)")
    return max(end for _, end in spans) - min(start for start, _ in spans)


def _client_process(base_url: str, key_id: str, secret: str, bodies: list[bytes],
                    queue: Any, barrier: Any) -> None:
    try:
        with httpx.Client(base_url=base_url, timeout=120) as http:
            http.get("/healthz")  # connected before the clock starts (and to its worker)
            barrier.wait()
            t0 = time.perf_counter()
            _post_all(http, key_id, secret, bodies)
            queue.put((t0, time.perf_counter()))
    except BaseException:
        queue.put(None)
        raise


def _copy_process(url: str, rows: list[tuple], queue: Any, barrier: Any) -> None:
    try:
        with psycopg.connect(_dsn(url)) as conn:
            barrier.wait()
            t0 = time.perf_counter()
            study_repo.copy_rows(conn.cursor(), _COPY_EVENTS, rows)
            conn.commit()
            queue.put((t0, time.perf_counter()))
    except BaseException:
        queue.put(None)
        raise


def _parallel(url: str) -> dict[str, float]:
    """Rounds interleaved: the API with PARALLEL_WORKERS workers fed by PARALLEL_CLIENTS client
    processes, then COPY from each of PARALLEL_COPY_STREAMS processes; per round the same
    number of events. Medians of events (rows) per second."""
    n = PARALLEL_EVENTS
    server = Server(url, workers=PARALLEL_WORKERS)
    rates: dict[str, list[float]] = {}
    try:
        key_id, secret, sessions = _setup(url, server.url)
        for r in range(PARALLEL_ROUNDS + 1):  # round 0 warms the workers up, and is not counted
            per = n // PARALLEL_CLIENTS
            jobs = []
            for c in range(PARALLEL_CLIENTS):
                events = _events(sessions, per, f"p{r}c{c}")
                jobs.append((server.url, key_id, secret, _bodies(events, 1000)))
            took = _in_processes(_client_process, jobs)
            if r == 0:
                continue
            rates.setdefault("api", []).append(per * PARALLEL_CLIENTS / took)
            for streams in PARALLEL_COPY_STREAMS:
                each = n // streams
                copies = [(url, _copy_rows(url, _events(sessions, each, f"q{r}s{streams}k{k}")))
                          for k in range(streams)]
                took = _in_processes(_copy_process, copies)
                rates.setdefault(f"copy{streams}", []).append(each * streams / took)
    finally:
        server.stop()
    return {k: statistics.median(v) for k, v in rates.items()}


def _measure(database_url: str, batches: list[int], copy: bool,
             ralph: Ralph | None = None) -> dict[str, float]:
    """Rounds interleaved (proctor, COPY, Ralph in turn), so machine noise hits all alike."""
    server = Server(database_url)
    try:
        key_id, secret, sessions = _setup(database_url, server.url)
        rates: dict[str, list[float]] = {}
        # CPU seconds per event of the batch-1000 rounds: the API process, PostgreSQL (the
        # pool's connections stay open), and PostgreSQL's for the same rows COPYed 1000 at a time
        cpu: dict[str, list[float]] = {"api": [], "pg": [], "copy_pg": []}
        for r in range(ROUNDS):
            for batch in batches:
                n = TOTAL_EVENTS // ROUNDS if batch >= 100 else SMALL_EVENTS
                read_cpu = batch == 1000
                api0 = process_cpu_s(server.proc.pid) if read_cpu else 0.0
                pg0 = postgres_cpu_s() if read_cpu else None
                rates.setdefault(f"batch{batch}", []).append(
                    _run_ingest(server.url, key_id, secret,
                                _events(sessions, n, f"b{batch}r{r}"), batch))
                pg1 = postgres_cpu_s() if pg0 is not None else None
                if pg0 is not None and pg1 is not None:
                    cpu["api"].append((process_cpu_s(server.proc.pid) - api0) / n)
                    cpu["pg"].append((pg1 - pg0) / n)
            if copy:
                rows = _copy_rows(database_url, _events(sessions, TOTAL_EVENTS // ROUNDS, f"c{r}"))
                rates.setdefault("copy", []).append(_copy_rate(database_url, rows))
                rows = _copy_rows(database_url, _events(sessions, TOTAL_EVENTS // ROUNDS, f"d{r}"))
                copy_cpu: list[float] = []
                rates.setdefault("copy1000", []).append(
                    _copy_rate(database_url, rows, batch=1000, cpu=copy_cpu))
                cpu["copy_pg"].extend(c / len(rows) for c in copy_cpu)
            if ralph is not None:
                rates.setdefault("ralph1000", []).append(
                    ralph.rate(_events(sessions, TOTAL_EVENTS // ROUNDS, f"x{r}"), 1000))
                rates.setdefault("ralph10", []).append(
                    ralph.rate_on_empty_store(_events(sessions, SMALL_EVENTS, f"y{r}"), 10))
        figures = {k: statistics.median(v) for k, v in rates.items()}
        figures.update({f"cpu_{k}": statistics.median(v) for k, v in cpu.items() if v})
        if copy:
            figures.update({f"cc_{k}": v for k, v in
                            _concurrent(database_url, server, key_id, secret, sessions).items()})
        return figures
    finally:
        server.stop()


def run() -> Section:
    _reset_pg(PG_URL)
    ralph = Ralph.start()
    try:
        pg = _measure(PG_URL, [10, 1000], copy=True, ralph=ralph)
        parallel = _parallel(PG_URL)
    finally:
        if ralph is not None:
            ralph.stop()
    tmp = Path(tempfile.mkdtemp(prefix="proctor-bench-"))
    try:
        sqlite_url = f"sqlite:///{tmp / 'bench.db'}"
        upgrade(sqlite_url)
        lite = _measure(sqlite_url, [1000], copy=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    figures: dict[str, float | int | str] = {
        "ingest_pg_batch10_eps": round(pg["batch10"]),
        "ingest_pg_batch1000_eps": round(pg["batch1000"]),
        "ingest_sqlite_batch1000_eps": round(lite["batch1000"]),
        "pg_copy_rows_per_s": round(pg["copy"]),
        "ingest_vs_copy": round(pg["batch1000"] / pg["copy"], 3),
        "pg_copy_batch1000_rows_per_s": round(pg["copy1000"]),
        "ingest_vs_copy_batch1000": round(pg["batch1000"] / pg["copy1000"], 3),
        "ingest_concurrent_deadlocks": int(pg["cc_deadlocks"]),
        "ingest_concurrent_5xx": int(pg["cc_errors_5xx"]),
        "ingest_concurrent8_eps": round(pg["cc_eps"]),
        "ingest_concurrent8_p50_ms": round(pg["cc_p50_ms"], 1),
        "ingest_concurrent8_p99_ms": round(pg["cc_p99_ms"], 1),
    }
    best = max(PARALLEL_COPY_STREAMS, key=lambda k: parallel[f"copy{k}"])
    figures.update({
        "ingest_pg_batch1000_parallel_eps": round(parallel["api"]),
        "ingest_parallel_api_workers": PARALLEL_WORKERS,
        "ingest_parallel_clients": PARALLEL_CLIENTS,
        **{f"pg_copy_{k}streams_rows_per_s": round(parallel[f"copy{k}"])
           for k in PARALLEL_COPY_STREAMS},
        "pg_copy_best_rows_per_s": round(parallel[f"copy{best}"]),
        "pg_copy_best_streams": best,
        "ingest_parallel_vs_copy_best": round(parallel["api"] / parallel[f"copy{best}"], 3),
        "ingest_parallel_vs_copy1": round(parallel["api"] / parallel["copy1"], 3),
    })
    copy_streams = ", ".join(f"{figures[f'pg_copy_{k}streams_rows_per_s']:,} rows/s from {k}"
                             for k in PARALLEL_COPY_STREAMS)
    parallel_md = f"""
**As deployed, beside PostgreSQL at its best.** The API as the image runs it
(`uvicorn --workers {PARALLEL_WORKERS}`, docker/Dockerfile), {PARALLEL_CLIENTS} client processes
at once sending signed batches of 1000 over 20 sessions, {PARALLEL_EVENTS:,} events a round; in
the same rounds PostgreSQL's binary COPY of as many rows from 1, 2 and 4 processes at once
({copy_streams}). Medians of {PARALLEL_ROUNDS} rounds after one warm-up round, all on the same two
cores: the API reaches **{figures['ingest_pg_batch1000_parallel_eps']:,} events/s, \
{figures['ingest_parallel_vs_copy_best']:.3f}× the best COPY** ({best} at once; target ≥ 0.35×),
{figures['ingest_parallel_vs_copy1']:.3f}× one COPY stream.
"""
    cpu_rows = ""
    if "cpu_api" in pg and "cpu_copy_pg" in pg:
        figures["ingest_api_cpu_us_per_event"] = round(pg["cpu_api"] * 1e6, 2)
        figures["ingest_pg_cpu_us_per_event"] = round(pg["cpu_pg"] * 1e6, 2)
        figures["pg_copy_batch1000_cpu_us_per_event"] = round(pg["cpu_copy_pg"] * 1e6, 2)
        figures["ingest_pg_cpu_vs_copy_batch1000"] = round(pg["cpu_pg"] / pg["cpu_copy_pg"], 2)
        cpu_rows = (
            "\nWhere the CPU of a batch of 1000 goes (per event, medians of the rounds, read from "
            f"/proc around them; ticks of 10 ms over {TOTAL_EVENTS // ROUNDS:,} events): the API process "
            f"{figures['ingest_api_cpu_us_per_event']} µs, PostgreSQL (every postgres process) "
            f"{figures['ingest_pg_cpu_us_per_event']} µs, against "
            f"{figures['pg_copy_batch1000_cpu_us_per_event']} µs of PostgreSQL's for the same "
            "rows COPYed 1000 at a time "
            f"({figures['ingest_pg_cpu_vs_copy_batch1000']}×: the sessions check, the last-seen "
            "update, the replay receipt, the savepoint).\n")
    if "ralph1000" in pg:
        figures["ralph_batch1000_sps"] = round(pg["ralph1000"])
        figures["ingest_vs_ralph_batch1000"] = round(pg["batch1000"] / pg["ralph1000"], 2)
        figures["ralph_batch10_sps"] = round(pg["ralph10"])
        figures["ingest_vs_ralph_batch10"] = round(pg["batch10"] / pg["ralph10"], 2)
        figures["ingest_batch10_vs_ralph_batch1000"] = round(pg["batch10"] / pg["ralph1000"], 2)
    ralph_rows = ""
    if "ralph1000" in pg:
        ralph_rows = (f"| peer: Ralph LRS {RALPH_VERSION} (fs backend), xAPI statements, "
                      f"batches of 10, from an empty store | {figures['ralph_batch10_sps']:,} |\n"
                      f"| peer: Ralph LRS {RALPH_VERSION} (fs backend), xAPI statements, "
                      f"batches of 1000 | {figures['ralph_batch1000_sps']:,} |\n")
    else:
        ralph_rows = "| peer: Ralph LRS | not installed (see the log of this run) |\n"
    per_round = TOTAL_EVENTS // ROUNDS
    copy, copy1000 = (f"{figures[k]:,}" for k in ("pg_copy_rows_per_s",
                                                   "pg_copy_batch1000_rows_per_s"))
    md = f"""
Signed `POST /v1/events` to a real uvicorn server (one worker process) from one client process,
{TOTAL_EVENTS // ROUNDS:,} heartbeat events per round ({SMALL_EVENTS:,} for batches of 10) over
20 sessions, median of {ROUNDS} rounds, the rounds of proctor, COPY and Ralph interleaved in this
one run. Each batch is decoded and validated straight from its bytes (msgspec; a batch with
anything unusual goes through pydantic, which explains each rejection), its sessions checked in
one query, and stored in key order with `ON CONFLICT DO NOTHING RETURNING`: up to
{study_repo._PG_VALUES_MAX} events in one multi-row `INSERT`, more COPYed straight into the
table under a savepoint (when a key is already stored: into a temporary table, then one
`INSERT … SELECT`); last-seen times are set with `FOR UPDATE SKIP LOCKED`.

| path | events/s |
|---|---|
| PostgreSQL, batches of 10 | {figures['ingest_pg_batch10_eps']:,} |
| PostgreSQL, batches of 1000 | {figures['ingest_pg_batch1000_eps']:,} |
| SQLite (embedded default), batches of 1000 | {figures['ingest_sqlite_batch1000_eps']:,} |
| ceiling: PostgreSQL binary `COPY` of the same rows into the same table, {per_round:,} in one | {copy} |
| the same COPY, one COPY and one commit per 1000 rows | {copy1000} |
{ralph_rows}
Batches of 1000 through the API reach **{figures['ingest_vs_copy']:.2f}× the raw COPY rate**
(target ≥ 0.35×){_ralph_sentence(figures)}. Against the database's own cost of storing the
same rows 1000 at a time, committed each time (no HTTP, no checks, no Python beyond the COPY),
the API reaches {figures['ingest_vs_copy_batch1000']:.2f}×.
{cpu_rows}{parallel_md}
8 clients at once over the same 20 sessions (batches of 100, each client re-sending a third of
another's events in its own order): {figures['ingest_concurrent8_eps']:,} events/s, request
latency p50 {figures['ingest_concurrent8_p50_ms']} ms / p99 {figures['ingest_concurrent8_p99_ms']}
ms, **{figures['ingest_concurrent_deadlocks']} deadlocks** (pg_stat_database) and
{figures['ingest_concurrent_5xx']} 5xx answers.
"""
    return Section(title="Telemetry ingest", figures=figures, markdown=md)


def _ralph_sentence(f: dict[str, float | int | str]) -> str:
    if "ralph_batch1000_sps" not in f:
        return ""
    return (f", **{f['ingest_vs_ralph_batch1000']}× Ralph** with batches of 1000 (target ≥ 8×) "
            f"and **{f['ingest_vs_ralph_batch10']}× Ralph** with batches of 10 on both sides "
            f"(target ≥ 4×; Ralph's batches of 10 measured from an empty store, its fastest; "
            f"against Ralph's batch-1000 rate, proctor's batches of 10 reach "
            f"{f['ingest_batch10_vs_ralph_batch1000']}×)")
