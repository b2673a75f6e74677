"""The broker's durability: Redis with AOF (everysec) vs RabbitMQ durable queues, measured.

Run: `python -m proctor.bench broker` (part of `make bench`). Each broker is a server of its
own, started here in a temp dir on a port of its own (Redis 8636, RabbitMQ 8637; never the
machine's shared ones), and the tasks are the real ones, sent by the real Celery app
(`send_task`, the configuration of proctor.workers.celery_app: late acks, JSON).

Per broker, in one run: the enqueue rate (evaluation tasks/s, one producer), then the loss
when the broker is killed with SIGKILL right after the last enqueue returned (no worker; the
count of tasks found in the queue after a restart), and the loss of tasks a worker had taken
but not acknowledged (late acks) when the broker was killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from proctor.bench import Section
from proctor.services import jobs

REDIS_PORT = int(os.environ.get("PROCTOR_BENCH_REDIS_PORT", "8636"))
AMQP_PORT = int(os.environ.get("PROCTOR_BENCH_AMQP_PORT", "8637"))
N_RATE = 3000
N_LOSS = 2000
N_UNACKED = 20


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout_s} s")
        time.sleep(0.1)


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> None:
        if _listening(self.port):
            raise RuntimeError(f"port {self.port} is taken ({self.name})")
        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=self.log.open("ab"),
                                      stderr=subprocess.STDOUT, start_new_session=True)
        _wait(lambda: _listening(self.port), timeout_s, f"{self.name} listening")

    def kill9(self) -> None:
        """SIGKILL to its whole process group (RabbitMQ's script and its Erlang VM)."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)
        _wait(lambda: not _listening(self.port), 10, f"{self.name} gone")


def _redis(tmp: Path, *, aof: bool) -> Server:
    data = tmp / "redis-data"
    data.mkdir(exist_ok=True)
    argv = ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--dir", str(data),
            "--save", "", "--appendonly", "yes" if aof else "no", "--appendfsync", "everysec"]
    return Server("redis", argv, dict(os.environ), REDIS_PORT, tmp / "redis.log")


def _rabbitmq(tmp: Path) -> Server:
    (tmp / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{AMQP_PORT}\n")
    (tmp / "enabled_plugins").write_text("[].\n")
    env = {**os.environ, "RABBITMQ_NODENAME": f"proctor-bench-{AMQP_PORT}@localhost",
           "RABBITMQ_NODE_PORT": str(AMQP_PORT), "RABBITMQ_DIST_PORT": str(AMQP_PORT + 20000),
           "RABBITMQ_CONFIG_FILE": str(tmp / "rabbitmq.conf"),
           "RABBITMQ_MNESIA_BASE": str(tmp / "mnesia"), "RABBITMQ_LOG_BASE": str(tmp / "log"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(tmp / "enabled_plugins"),
           "RABBITMQ_PID_FILE": str(tmp / "rabbitmq.pid")}
    server = shutil.which("rabbitmq-server", path="/usr/lib/rabbitmq/bin") or "rabbitmq-server"
    return Server("rabbitmq", [server], env, AMQP_PORT, tmp / "rabbitmq.log")


@dataclass
class Setup:
    key: str
    label: str
    url: str
    make: Callable[[Path], Server]
    transport_options: dict[str, object]


SETUPS = (
    Setup("redis_aof", "Redis, `appendonly yes`, `appendfsync everysec`",
          f"redis://127.0.0.1:{REDIS_PORT}/0", lambda t: _redis(t, aof=True), {}),
    Setup("redis_none", "Redis without persistence (the machine's default here)",
          f"redis://127.0.0.1:{REDIS_PORT}/0", lambda t: _redis(t, aof=False), {}),
    Setup("rabbitmq", "RabbitMQ, durable queue, persistent messages",
          f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}//", _rabbitmq, {}),
    Setup("rabbitmq_confirm", "RabbitMQ, durable queue, persistent, publisher confirms",
          f"amqp://guest:guest@127.0.0.1:{AMQP_PORT}//", _rabbitmq, {"confirm_publish": True}),
)


def _app(setup: Setup):  # type: ignore[no-untyped-def]
    from proctor.config import Settings
    from proctor.workers import celery_app as celery_module

    app = celery_module.configure(Settings(database_url="sqlite://", broker_url=setup.url,
                                           result_backend=None))
    app.conf.broker_transport_options = setup.transport_options
    app.conf.result_backend = None
    return app


def _enqueue(app, n: int) -> float:  # type: ignore[no-untyped-def]
    """n evaluation tasks as the API sends them (session id, server time); their rate."""
    t0 = time.perf_counter()
    with app.producer_or_acquire() as producer:
        for _ in range(n):
            app.send_task(jobs.EVALUATE_SESSION, args=[str(uuid.uuid4()), "2026-12-02T00:00:00"],
                          queue="default", producer=producer)
    return n / (time.perf_counter() - t0)


def _queued(app) -> int:  # type: ignore[no-untyped-def]
    """Tasks waiting in `default` plus, on Redis, those taken and not acknowledged."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=30, interval_start=0.2, interval_step=0.2)
        if conn.transport_cls in ("redis", "rediss") or "redis" in conn.transport_cls:
            client = conn.default_channel.client
            return int(client.llen("default") + client.hlen("unacked"))
        return int(conn.default_channel.queue_declare("default", passive=True).message_count)


def _take_unacked(app, n: int):  # type: ignore[no-untyped-def]
    """A worker's prefetch under late acks: n tasks taken, never acknowledged."""
    conn = app.connection_for_read()
    queue = app.amqp.queues["default"]
    got: list[object] = []
    consumer = conn.Consumer(queue, callbacks=[lambda body, message: got.append(message)],
                             accept=["json"], prefetch_count=n)
    consumer.consume()
    deadline = time.monotonic() + 20
    while len(got) < n and time.monotonic() < deadline:
        try:
            conn.drain_events(timeout=1)
        except TimeoutError:
            pass
        except OSError:
            break
    # the broker dies with these unacknowledged (the connection is left as a killed worker's)
    return conn


def _forget(conn) -> None:  # type: ignore[no-untyped-def]
    """Drop the dead worker's connection without letting kombu put its tasks back."""
    channel = conn._default_channel if hasattr(conn, "_default_channel") else None
    qos = getattr(channel, "_qos", None)
    if qos is not None:
        qos._delivered.clear()  # nothing left for restore_unacked at exit
        qos._dirty.clear()
        qos.restore_at_shutdown = False
    with contextlib.suppress(Exception):
        conn.release()


def _measure(setup: Setup, tmp: Path) -> dict[str, float | int]:
    server = setup.make(tmp)
    server.start()
    try:
        app = _app(setup)
        rate = _enqueue(app, N_RATE)
        # drop the rate run's tasks: the loss is counted on its own
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("default")
        _enqueue(app, N_LOSS)
        server.kill9()
        server.start()
        survived = _queued(app)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("default")
            if "redis" in conn.transport_cls:
                conn.default_channel.client.delete("unacked", "unacked_index")
        _enqueue(app, N_UNACKED)
        time.sleep(1.5)  # past one AOF fsync: this count is about the unacknowledged, not fsync
        worker = _take_unacked(app, N_UNACKED)
        server.kill9()
        server.start()
        unacked_kept = _queued(app)
        _forget(worker)
        return {"enqueue_per_s": round(rate), "lost_on_kill": max(0, N_LOSS - survived),
                "unacked_lost_on_kill": max(0, N_UNACKED - unacked_kept)}
    finally:
        server.kill9()


def run() -> Section:
    from proctor.config import get_settings
    from proctor.workers import celery_app as celery_module

    results: dict[str, dict[str, float | int]] = {}
    try:
        for setup in SETUPS:
            with tempfile.TemporaryDirectory(prefix=f"proctor-bench-{setup.key}-") as tmp:
                results[setup.key] = _measure(setup, Path(tmp))
    finally:
        celery_module.configure(get_settings())
    figures: dict[str, float | int | str] = {}
    rows = ["| broker | enqueue (tasks/s) | lost of "
            f"{N_LOSS} enqueued just before kill -9 | lost of {N_UNACKED} taken, unacknowledged |",
            "|---|---|---|---|"]
    for setup in SETUPS:
        r = results[setup.key]
        for k, v in r.items():
            figures[f"broker_{setup.key}_{k}"] = v
        rows.append(f"| {setup.label} | {r['enqueue_per_s']:,} | {r['lost_on_kill']} | "
                    f"{r['unacked_lost_on_kill']} |")
    aof, rmq = results["redis_aof"], results["rabbitmq_confirm"]
    figures["broker_redis_aof_vs_rabbitmq_confirm_enqueue_ratio"] = round(
        aof["enqueue_per_s"] / max(1, rmq["enqueue_per_s"]), 2)
    md = "\n".join(rows) + f"""

One producer (the API's path: `send_task` of the real Celery app), no worker; each broker its
own server, killed with SIGKILL (process group) and restarted, in one run. "Lost" counts tasks
not found in the queue afterwards (on Redis, waiting plus taken-unacknowledged).

Redis's AOF is written on every command (fsync once a second), so a killed Redis process loses
nothing; only the machine's own crash can cost the last second. RabbitMQ keeps persistent
messages of a durable queue in its own buffers until it syncs: without publisher confirms a
kill -9 loses what it had not synced yet; with them it loses nothing but every enqueue waits
for the disk (Redis with AOF enqueues {figures['broker_redis_aof_vs_rabbitmq_confirm_enqueue_ratio']}×
the confirmed rate here). Both keep tasks a worker had taken without acknowledging (late acks).
Production runs Redis with AOF (docs/operations.md). Whatever a broker loses, the reconciler
rebuilds from the database: a lost evaluation costs one grace of delay, not a verdict.
"""
    return Section("Broker durability (Redis AOF vs RabbitMQ)", figures, md)
