"""The bench's CPU readings from /proc (proctor.bench.process_cpu_s, postgres_cpu_s): the
figures docs/scaling.md splits ingest and re-judging by."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from proctor.bench import postgres_cpu_s, process_cpu_s


def test_a_process_cpu_reading_grows_with_the_work_it_does() -> None:
    before, started = process_cpu_s(os.getpid()), time.process_time()
    while time.process_time() - started < 0.2:  # busy for 0.2 s of CPU, whatever the clock
        sum(i * i for i in range(10_000))
    grew = process_cpu_s(os.getpid()) - before
    assert 0.1 <= grew <= 0.2 + time.process_time() - started  # ticks of 10 ms


def test_postgresql_cpu_counts_a_query_run_on_an_open_connection(pg_migrated: str) -> None:
    url = make_url(pg_migrated)
    if url.host not in ("127.0.0.1", "localhost"):
        pytest.skip("the readings are of this machine's PostgreSQL; the test server is remote")
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)) as conn:
        before = postgres_cpu_s()
        assert before is not None  # the server runs here: its processes are in /proc
        for _ in range(3):
            conn.execute("SELECT count(*) FROM generate_series(1, 2000000)").fetchone()
        after = postgres_cpu_s()
    assert after is not None and after - before >= 0.05  # the backend's work, a few ticks
