"""A real deployment in miniature, each part a process that can be killed with SIGKILL:
a Redis broker of its own (AOF on, in a temp dir, its own port: never the machine's), the API
under uvicorn, Celery workers on `default` and `vision`, Celery beat; PostgreSQL (this run's
own database).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

REPO = Path(__file__).resolve().parents[2]
# ports of this suite (the CI machine has them free)
REDIS_PORT = int(os.environ.get("PROCTOR_FAULTS_REDIS_PORT", "8631"))
API_PORT = int(os.environ.get("PROCTOR_FAULTS_API_PORT", "8632"))


def wait_until(done: Callable[[], Any], timeout_s: float, what: str, step_s: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = done()
        except Exception:  # not up yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(step_s)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready: Callable[[], Any] | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60.0) -> Proc:
        assert self.popen is None or self.popen.poll() is not None, f"{self.name} is running"
        out = self.log.open("ab")
        self.popen = subprocess.Popen(self.argv, env=self.env, cwd=REPO, stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        if self.ready is not None:
            wait_until(lambda: self.alive() and self.ready(), timeout_s,  # type: ignore[misc]
                       f"{self.name} ready (log {self.log})")
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        """SIGKILL, no goodbye: what a crash or the OOM killer does (its process group: a
        worker's children too)."""
        if self.alive():
            assert self.popen is not None
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except FileNotFoundError:
            return ""


@dataclass
class Stack:
    """The processes, by name; ``env`` is what every Python part is started with."""

    tmp: Path
    database_url: str
    redis_port: int = REDIS_PORT
    api_port: int = API_PORT
    appendonly: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def redis(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.redis_port, db=db, socket_timeout=2)

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")])
        return {**os.environ, "PYTHONPATH": path, "PROCTOR_DATABASE_URL": self.database_url,
                "PROCTOR_BROKER_URL": self.broker_url,
                "PROCTOR_RESULT_BACKEND": f"redis://127.0.0.1:{self.redis_port}/2",
                "PROCTOR_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/1",
                "PROCTOR_BLOB_DIR": str(self.tmp / "blobs"),
                "PROCTOR_ARCHIVE_KEY_FILE": str(self.tmp / "archive.pem"),
                "PROCTOR_SECRET_KEY": "faults-" + "x" * 40,
                "PROCTOR_PERSON_KEY": "faults-person-key",
                # the reconciler every 2 s, work lost after 4 s (production: 2 min and 2 min)
                "PROCTOR_RECONCILE_EVERY_S": "2", "PROCTOR_RECONCILE_GRACE_S": "4",
                **self.extra_env}

    def _proc(self, name: str, argv: list[str], ready: Callable[[], Any] | None) -> Proc:
        if name not in self.procs:
            self.procs[name] = Proc(name, argv, self.env(), self.tmp / f"{name}.log", ready)
        return self.procs[name]

    def broker(self) -> Proc:
        data = self.tmp / "redis"
        data.mkdir(exist_ok=True)
        argv = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--dir", str(data), "--save", "", "--protected-mode", "no",
                "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec"]
        return self._proc("redis", argv, lambda: self.redis().ping())

    def api(self) -> Proc:
        argv = [sys.executable, "-m", "uvicorn", "proctor.main:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.api_port), "--log-level", "warning"]
        return self._proc("api", argv,
                          lambda: httpx.get(self.api_url + "/healthz", timeout=1).status_code == 200)

    def worker(self, queue: str = "default") -> Proc:
        argv = [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app",
                "worker", "--pool", "solo", "-Q", queue, "-n", f"{queue}-faults@%h",
                "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
                "--without-heartbeat"]
        return self._proc(f"worker-{queue}", argv, None)

    def beat(self) -> Proc:
        argv = [sys.executable, "-m", "celery", "-A", "proctor.workers.celery_app:celery_app",
                "beat", "--loglevel", "WARNING", "-s", str(self.tmp / "beat-schedule"),
                "--max-interval", "1"]
        return self._proc("beat", argv, None)

    def stop_all(self) -> None:
        """Clean-up: every process of the stack killed (nothing of theirs is kept)."""
        for p in reversed(list(self.procs.values())):
            p.kill9()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ---\n{p.tail()}" for p in self.procs.values())
