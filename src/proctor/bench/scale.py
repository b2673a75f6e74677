"""Bench section: a province's month on disk, and a course re-judged in parallel.

Setup: one honest learner's 40-lesson course, acted out by the simulator exactly as the
course_eval section does (~12.6k events, challenges, photos), cloned in SQL to LEARNERS
learners (new ids, event keys recomputed as the API computes them; ~12.6M events) into the
month's partition, inserted with every index in place (as steady ingest builds them), the
learners of a clone batch interleaved in the order their events were received (as the browser
SDK's small batches of learners studying at once land: a session's rows ~one page per event).

Measured:
- ``events_bytes_per_event`` at ``events_bytes_rows`` events: heap + TOAST + every index of
  every events partition, divided by the rows.
- the daily job's compaction of the settled month (storage/compaction.py, pg_repack):
  ``events_compaction_s``, the pages a session's rows lie on over the fewest that would hold
  them before and after (``events_scatter_*``), and one process re-judging learners on the
  month as written and compacted (``reevaluate_serial_*_uncompacted``, ``..._compacted_vs_...``).
  Re-judging in parallel below runs on the compacted month.
- ``reevaluate_ms_per_learner_per_core``: every learner re-judged by `proctor reevaluate`'s
  fan-out (Celery chunks of learners) over 2 real workers (solo pool, one process each, Redis
  broker and results): wall time x 2 workers / learners; beside it, in the same run, the
  workers' own CPU per learner and one process judging learners one after another, with the
  rule engine compiled (mypyc, setup.py) and, on the next learners, as its Python sources
  (``PROCTOR_PURE_PYTHON=1``): ``reevaluate_engine_compiled_cpu_ratio``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from typing import Any

from sqlalchemy import text

import proctor
from proctor.bench import Section, postgres_cpu_s, process_cpu_s
from proctor.bench.course_eval import _at, _store_course
from proctor.bench.ingest import _reset_pg
from proctor.config import Settings, get_settings
from proctor.domain.policy import load_policy
from proctor.services.parallel_reevaluation import judge_chunk
from proctor.services.reevaluation import plan
from proctor.simulation.engine_driver import BASE_T
from proctor.storage import compaction, partitions
from proctor.storage.db import engine_for, session_factory, unit_of_work

PG_URL = os.environ.get("PROCTOR_PG_BENCH_SCALE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/proctor_bench_scale")
LEARNERS = int(os.environ.get("PROCTOR_BENCH_SCALE_LEARNERS", "1000"))
WORKERS = 2
SERIAL_LEARNERS = 20
CLONE_BATCH = 100
BROKER = os.environ.get("PROCTOR_BENCH_BROKER", "redis://127.0.0.1:6379/13")


def _columns(conn, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(conn.execute(text(
        "SELECT column_name FROM information_schema.columns WHERE table_name = :t "
        "AND table_schema = current_schema() AND is_generated = 'NEVER' "  # stored: computed
        "ORDER BY ordinal_position"), {"t": table}).scalars())


def _clone(conn: Any, table: str, over: dict[str, str], source: str,
           skip: tuple[str, ...] = ("id",), tail: str = "", order: str = "") -> int:
    """Rows of ``table`` copied from ``source`` (inserted in ``order``) with the columns of
    ``over`` replaced; how many were inserted."""
    cols = [c for c in _columns(conn, table) if c in over or c not in skip]
    select = ", ".join(over.get(c, f"t.{c}") for c in cols)
    return int(conn.execute(text(
        f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} {source} {order} {tail}"
    )).rowcount)


def _new(col: str) -> str:
    return f"md5({col} || ':' || n)::uuid::text"


def _clone_learners(conn, inst: int, learner: int, lo: int, hi: int) -> None:  # type: ignore[no-untyped-def]
    """Learners ``stu-lo`` .. ``stu-hi`` as copies of ``learner`` (who is ``stu-1``)."""
    series = f"CROSS JOIN generate_series({lo}, {hi}) n"
    join_l = (f"JOIN learners l ON l.institution_id = {inst} AND l.ext_id = 'stu-' || n")
    _clone(conn, "learners", {"ext_id": "'stu-' || n"},
           f"FROM learners t {series} WHERE t.id = {learner}")
    _clone(conn, "enrolments", {"learner_id": "l.id"},
           f"FROM enrolments t {series} {join_l} WHERE t.learner_id = {learner}")
    _clone(conn, "study_sessions", {"id": _new("t.id"), "learner_id": "l.id"},
           f"FROM study_sessions t {series} {join_l} WHERE t.learner_id = {learner}", skip=())
    mine = f"JOIN study_sessions s ON s.id = t.session_id AND s.learner_id = {learner}"
    _clone(conn, "challenges", {"id": _new("t.id"), "session_id": _new("t.session_id")},
           f"FROM challenges t {mine} {series}", skip=())
    _clone(conn, "photos", {"id": _new("t.id"), "session_id": _new("t.session_id"),
                            "challenge_id": _new("t.challenge_id"), "learner_id": "l.id"},
           f"FROM photos t {mine} {series} {join_l}", skip=())
    sid = "md5(t.session_id::text || ':' || n)"
    day = "((s.started_at AT TIME ZONE 'UTC')::date - date '2000-01-01')::bigint"
    public = (f"(CASE WHEN left(t.event_id, 1) = '~' THEN {sid}::uuid::text || "
              "substr(t.event_id, 2) ELSE t.event_id END)")
    digest = f"md5({sid}::uuid::text || '/' || {public})"
    key = f"({day} << 48) | ('x' || substr({digest}, 1, 12))::bit(48)::bigint"
    source = (f"FROM events t JOIN study_sessions s ON s.id = t.session_id::text "
              f"AND s.learner_id = {learner} {series}")
    # the learners of a batch study at the same hours: their events land interleaved, in the
    # order they were received, as the browser SDK's small batches (every 2 s) of many learners
    # studying at once land (a session's rows about one page per event); the events of one
    # request (one receipt time) in key order, as ingest inserts them
    stored = _clone(conn, "events", {"event_key": key, "session_id": f"{sid}::uuid"}, source,
                    skip=(), tail="ON CONFLICT (event_key) DO NOTHING",
                    order=f"ORDER BY t.server_ts, n, {key}")
    # 48 bits of hash per day collide now and then among millions of events (a few per cent of
    # runs): the API moves such an event to the next key of its day (storage's _next_key), and
    # so does the clone, for the few rows whose key was taken
    expected = (hi - lo + 1) * int(conn.execute(text(
        f"SELECT count(*) FROM events WHERE session_id IN "
        f"(SELECT id::uuid FROM study_sessions WHERE learner_id = {learner})")).scalar())
    mask = (1 << 48) - 1
    for step in range(1, 9):
        if stored >= expected:
            return
        moved = f"(({key}) & ~{mask}::bigint) | ((({key}) + {step}) & {mask}::bigint)"
        # the rows whose own key another event holds, and not stored under a moved key yet
        missing = (f"{source} WHERE EXISTS (SELECT 1 FROM events e WHERE e.event_key = {key} "
                   f"AND NOT (e.session_id = {sid}::uuid AND e.event_id = t.event_id)) "
                   f"AND NOT EXISTS (SELECT 1 FROM events e WHERE "
                   f"e.session_id = {sid}::uuid AND e.event_id = t.event_id)")
        stored += _clone(conn, "events", {"event_key": moved, "session_id": f"{sid}::uuid"},
                         missing, skip=(), tail="ON CONFLICT (event_key) DO NOTHING")
    raise RuntimeError(f"learners {lo}..{hi}: {expected - stored} events not cloned")


def _bytes(conn) -> tuple[int, int, dict[str, int]]:  # type: ignore[no-untyped-def]
    parts = list(conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events'")).scalars())
    detail = {"heap": 0, "indexes": 0}
    for name in parts:
        detail["heap"] += conn.execute(text(f"SELECT pg_table_size('{name}')")).scalar()
        detail["indexes"] += conn.execute(text(f"SELECT pg_indexes_size('{name}')")).scalar()
    for ix in ("ix_events_session_id", "ix_events_server_ts", "pk_events"):
        detail[ix] = sum(conn.execute(text(
            "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname = :ix"), {"ix": ix}).scalars())
    rows = conn.execute(text("SELECT count(*) FROM events")).scalar()
    return rows, detail["heap"] + detail["indexes"], detail


def run() -> Section:
    policy = load_policy("henan-2021")
    _reset_pg(PG_URL)
    factory = session_factory(engine_for(PG_URL))
    t0 = time.perf_counter()
    with engine_for(PG_URL).begin() as conn:  # the month the sittings happened in
        partitions.maintain(conn, today=_at(BASE_T).date(), ahead_months=1)
    with unit_of_work(factory) as uow:
        inst, learner, _course = _store_course(uow, policy, random.Random(40))
    for lo in range(2, LEARNERS + 1, CLONE_BATCH):  # one transaction per batch of learners
        with engine_for(PG_URL).begin() as conn:
            _clone_learners(conn, inst, learner, lo, min(lo + CLONE_BATCH - 1, LEARNERS))
        print(f"bench: scale: {min(lo + CLONE_BATCH - 1, LEARNERS)} learners stored "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    with engine_for(PG_URL).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))  # every table's statistics, as autovacuum keeps them
        rows, total, detail = _bytes(conn)
    load_s = time.perf_counter() - t0
    now = _at(BASE_T + 400 * 86400)
    with unit_of_work(factory) as uow:
        groups = plan(uow.session, course_ext="elec-40h", institution=None)
    assert len(groups) == LEARNERS, len(groups)

    # one process judging learners one after another, on the month as it was written (each
    # session's rows scattered); then the daily job's compaction of the settled month
    # (pg_repack, storage/compaction.py), and everything after on the compacted month
    uncompacted = _serial_process(2 * SERIAL_LEARNERS, pure=False)
    month = partitions.partition_name(_at(BASE_T).date())
    t1 = time.perf_counter()
    packed = compaction.compact_settled(engine_for(PG_URL), today=now.date(), after_days=7)
    compact_s = time.perf_counter() - t1  # its measuring included, as the daily job runs it
    if packed.compacted != [month]:
        raise RuntimeError(f"bench: scale: {month} was not compacted: {packed}")
    scattered = packed.scatter[month]
    with engine_for(PG_URL).connect() as conn:
        packed_scatter = compaction.scatter(conn, month)
        packed_rows, packed_total, _ = _bytes(conn)
    assert packed_rows == rows, (packed_rows, rows)

    # the baseline (same run), then the next learners by a process running the engine's Python
    # sources: each a fresh process (this one holds the clone's objects, which the garbage
    # collector would walk)
    compiled = _serial_process(0, pure=False)
    pure = _serial_process(SERIAL_LEARNERS, pure=True)
    assert not pure["compiled"], pure
    serial_ms, serial_cpu_ms = compiled["wall_ms"], compiled["cpu_ms"]

    queue = f"bench-reeval-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PROCTOR_DATABASE_URL": PG_URL, "PROCTOR_BROKER_URL": BROKER,
           "PROCTOR_RESULT_BACKEND": BROKER, "PROCTOR_REEVALUATE_QUEUE": queue}
    workers = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app", "worker",
         "--pool", "solo", "-Q", queue, "-n", f"bench{i}-{queue}@%h", "--loglevel", "WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat"], env=env)
        for i in range(WORKERS)]
    from proctor.workers import celery_app as celery_module
    from proctor.workers.reevaluate_tasks import reevaluate_parallel

    settings = Settings(database_url=PG_URL, broker_url=BROKER, result_backend=BROKER,
                        reevaluate_queue=queue)
    celery_module.configure(settings)
    try:
        time.sleep(3)  # workers up
        cpu0, pg0 = [process_cpu_s(w.pid) for w in workers], postgres_cpu_s()
        t2 = time.perf_counter()
        report = reevaluate_parallel(course_ext="elec-40h", institution=None,
                                     policy="henan-2021", now=now, chunk_learners=10)
        wall_s = time.perf_counter() - t2
        worker_cpu_s = sum(process_cpu_s(w.pid) - c for w, c in zip(workers, cpu0, strict=True))
        pg1 = postgres_cpu_s()  # the workers' connections are still open
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(timeout=30)
        celery_module.configure(get_settings())
    assert report.learners == LEARNERS, report
    per_core = wall_s * 1000 * WORKERS / LEARNERS
    figures: dict[str, float | int | str] = {
        "events_bytes_per_event": round(total / rows, 1),
        "events_bytes_rows": rows,
        "reevaluate_ms_per_learner_per_core": round(per_core, 1),
        "reevaluate_worker_cpu_ms_per_learner": round(worker_cpu_s * 1000 / LEARNERS, 1),
        "reevaluate_serial_ms_per_learner": round(serial_ms, 1),
        "reevaluate_serial_cpu_ms_per_learner": round(serial_cpu_ms, 1),
        "reevaluate_engine_compiled": int(compiled["compiled"]),
        "reevaluate_serial_cpu_ms_per_learner_pure": round(pure["cpu_ms"], 1),
        "reevaluate_engine_compiled_cpu_ratio": round(serial_cpu_ms / pure["cpu_ms"], 3),
        "reevaluate_learners": LEARNERS,
        "reevaluate_sessions": report.sessions,
        "reevaluate_serial_ms_per_learner_uncompacted": round(uncompacted["wall_ms"], 1),
        "reevaluate_serial_cpu_ms_per_learner_uncompacted": round(uncompacted["cpu_ms"], 1),
        "reevaluate_serial_compacted_vs_uncompacted": round(
            serial_ms / uncompacted["wall_ms"], 3),
        "events_scatter_uncompacted": round(scattered, 2),
        "events_scatter_compacted": round(packed_scatter or 0.0, 2),
        "events_compaction_s": round(compact_s, 1),
        "events_compaction_rows_per_s": round(rows / compact_s),
        "events_bytes_per_event_compacted": round(packed_total / rows, 1),
    }
    for key, run_ in (("", compiled), ("_uncompacted", uncompacted)):
        if run_.get("pg_cpu_ms") is not None:
            figures[f"reevaluate_serial_pg_cpu_ms_per_learner{key}"] = round(run_["pg_cpu_ms"], 1)
    pg_note = ""
    if pg0 is not None and pg1 is not None:
        figures["reevaluate_pg_cpu_ms_per_learner"] = round((pg1 - pg0) * 1000 / LEARNERS, 1)
        pg_note = (f" and PostgreSQL's {figures['reevaluate_pg_cpu_ms_per_learner']} ms (every "
                   "postgres process of the machine, read from /proc)")
    per = {k: v / rows for k, v in detail.items()}
    md = f"""
{LEARNERS:,} learners × one 40-lesson course (the course_eval section's honest learner, cloned
in SQL with fresh ids and keys): **{rows:,} events** in one monthly partition, loaded with
every index in place, each batch of {CLONE_BATCH} learners' events interleaved in the order they
were received (as the browser SDK's small batches of learners studying at once land), then
`VACUUM ANALYZE` (setup {load_s:.0f} s).

| on disk, per event | bytes |
|---|---|
| heap (incl. TOAST, free space map) | {per['heap']:.1f} |
| primary key `event_key` (bigint) | {per['pk_events']:.1f} |
| `session_id` (uuid, deduplicated btree) | {per['ix_events_session_id']:.1f} |
| `server_ts` (BRIN) | {per['ix_events_server_ts']:.2f} |
| **total** | **{total / rows:.1f}** (target ≤ 150; 402 before) |

As written, a sampled session's rows lie on **{scattered:.1f}×** the pages that would hold
them. The daily events job then rewrote the settled month in session order (pg_repack, online:
storage/compaction.py) in {compact_s:.1f} s ({rows / compact_s:,.0f} rows/s): **{packed_scatter or 0:.2f}×**,
and {packed_total / rows:.1f} bytes per event (its indexes rebuilt packed). One process judging
{SERIAL_LEARNERS} learners one after another took **{uncompacted["wall_ms"]:.1f} ms** per learner on the
month as written ({uncompacted["cpu_ms"]:.1f} ms of its CPU), **{serial_ms:.1f} ms** on the compacted
month (ratio {serial_ms / uncompacted["wall_ms"]:.2f}); everything below ran on the compacted month.

Re-judging all {LEARNERS:,} learners ({report.sessions:,} sessions) with `proctor reevaluate`'s
fan-out: chunks of 10 learners as one Celery group over {WORKERS} worker processes (solo pool,
Redis broker and results): {wall_s:.1f} s wall, **{per_core:.1f} ms per learner per core**
(wall × {WORKERS} / learners; target ≤ 60): of the CPU per learner, the workers' own
{figures['reevaluate_worker_cpu_ms_per_learner']} ms{pg_note}, all on the same 2 cores.
In the same run one process judging {SERIAL_LEARNERS} learners one after another took
{serial_ms:.1f} ms per learner ({serial_cpu_ms:.1f} ms of its CPU) with the rule engine
{"compiled by mypyc" if compiled["compiled"] else "as its Python sources (not compiled)"};
the next {SERIAL_LEARNERS} learners, judged by a process running the engine's Python sources
(`PROCTOR_PURE_PYTHON=1`), took {pure["wall_ms"]:.1f} ms ({pure["cpu_ms"]:.1f} ms of CPU): compiled
over sources **{serial_cpu_ms / pure["cpu_ms"]:.2f}×** the CPU per learner.
"""
    return Section(title="Province scale: bytes per event, parallel re-judging", figures=figures,
                   markdown=md)


def _serial_process(lo: int, *, pure: bool) -> dict[str, Any]:
    """Learners ``lo`` .. ``lo + SERIAL_LEARNERS`` judged one after another by a fresh process
    (``pure``: the engine's Python sources): its wall and CPU ms per learner, and PostgreSQL's."""
    out: dict[str, Any] = json.loads(subprocess.run(
        [sys.executable, "-m", "proctor.bench.scale", str(lo), str(lo + SERIAL_LEARNERS)],
        env={**os.environ, "PROCTOR_PURE_PYTHON": "1" if pure else "0"}, capture_output=True,
        text=True, check=True).stdout)
    return out


def _serial(factory: Any, groups: list[Any], now: Any) -> tuple[float, float]:
    """Wall and CPU ms per learner, judging ``groups`` one after another in this process."""
    policy = load_policy("henan-2021")
    t, c = time.perf_counter(), time.process_time()
    judge_chunk(factory, groups, policy=policy, now=now)
    return ((time.perf_counter() - t) * 1000 / len(groups),
            (time.process_time() - c) * 1000 / len(groups))


if __name__ == "__main__":  # learners argv[1]..argv[2] of the stored course, one by one
    _factory = session_factory(engine_for(PG_URL))
    with unit_of_work(_factory) as _uow:
        _groups = plan(_uow.session, course_ext="elec-40h", institution=None)
    _pg0 = postgres_cpu_s()  # read while this process's connection is open (its backend's CPU)
    _wall, _cpu = _serial(_factory, _groups[int(sys.argv[1]):int(sys.argv[2])],
                          _at(BASE_T + 400 * 86400))
    _pg1 = postgres_cpu_s()
    _pg = (_pg1 - _pg0) * 1000 / (int(sys.argv[2]) - int(sys.argv[1])) \
        if _pg0 is not None and _pg1 is not None else None
    print(json.dumps({"wall_ms": _wall, "cpu_ms": _cpu, "pg_cpu_ms": _pg,
                      "compiled": proctor.COMPILED_ENGINE}))
