"""Engine, sessions, the declarative base and its naming convention."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    SmallInteger,
    String,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit key on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so it stores naive UTC)."""

    impl = DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UUIDText(TypeDecorator[str]):
    """A uuid given and read as its canonical text: native ``uuid`` (16 bytes) on PostgreSQL,
    36 characters elsewhere."""

    impl = String(36)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(PG_UUID(as_uuid=False))
        return dialect.type_descriptor(String(36))


# Event types as small integers on disk (2 bytes instead of up to 16 of text). Append only:
# a code, once given, never changes meaning.
EVENT_TYPE_CODES: dict[str, int] = {
    "play": 1, "pause": 2, "seek": 3, "ratechange": 4, "heartbeat": 5, "visibility": 6,
    "focus": 7, "lesson.complete": 8, "session.end": 9,
}
EVENT_TYPE_NAMES: dict[int, str] = {v: k for k, v in EVENT_TYPE_CODES.items()}


class EventType(TypeDecorator[str]):
    """An event type's name, stored as its small-integer code."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> int | None:
        return None if value is None else EVENT_TYPE_CODES[value]

    def process_result_value(self, value: int | None, dialect: Any) -> str | None:
        return None if value is None else EVENT_TYPE_NAMES[value]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def driver_connection(session: Session) -> Any:
    """The session's own DB-API driver connection (same transaction)."""
    return session.connection().connection.driver_connection


def pg_connection(session: Session) -> Any | None:
    """The session's own psycopg connection (same transaction) on PostgreSQL, else None: for
    the few per-request statements where building them through SQLAlchemy cost more than the
    round trip (the ingest hot path, docs/scaling.md)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return driver_connection(session)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled connection is pinged before use only when it sat idle in the pool longer than this
# (HikariCP's alive-bypass window is the same 500 ms): SQLAlchemy's pool_pre_ping pings at
# every checkout, one round trip of the 8 an ingest request made (~50 µs of the API's CPU and
# ~10 µs of PostgreSQL's). A connection in steady use is known to be alive; one that died
# within the window (the server restarted) fails its request with a 503 (api/errors.py) and
# the pool drops every connection of its generation, so the next request gets a fresh one.
PING_AFTER_IDLE_S = 0.5


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:
            record.info["idle_from"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_from = record.info.get("idle_from")  # None: connected just now
        if idle_from is None or time.monotonic() - idle_from <= PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # any failure of the ping: the pool connects anew
            raise DisconnectionError(f"the pooled connection is gone ({exc})") from exc


@lru_cache(maxsize=8)
def engine_for(url: str, echo: bool = False) -> Engine:
    """One engine per URL (and echo setting) per process; ``echo`` logs every SQL statement."""
    return make_engine(url, echo=echo)


@dataclass(frozen=True)
class Job:
    """A background task named by its registered name (see proctor.services.jobs), carrying ids
    only. ``countdown_s``: run no sooner than this many seconds after the commit."""

    name: str
    args: tuple[Any, ...] = ()
    countdown_s: float | None = None


# Sends a job somewhere it will run (a broker, or in-process): given by the layer that owns the
# task queue (proctor.workers.dispatch), so that storage and services never import workers.
JobSender = Callable[[Job], None]
_fallback_sender: list[JobSender] = []


def set_fallback_sender(send: JobSender) -> None:
    """The sender for sessions made by a factory that was given none (proctor.workers sets it)."""
    _fallback_sender[:] = [send]


def session_factory(engine: Engine, *, jobs: JobSender | None = None) -> sessionmaker[Session]:
    """Sessions on ``engine``; the jobs their units of work enqueue are sent with ``jobs``."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False,
                        info={"jobs": jobs} if jobs is not None else None)


class UnitOfWork:
    """One database session, committed in one place; work queued to run after the commit.

    Tasks are enqueued by name (`enqueue`), polar's after-commit job queue style: nothing is sent
    unless the transaction commits, and the caller needs no import of the task itself.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._after_commit: list[Callable[[], object]] = []
        self._on_rollback: list[Callable[[], object]] = []
        self._jobs: list[Job] = []
        # set by ``finish_in_route``: the request's unit of work is committed and closed already
        self.finished = False

    def enqueue(self, name: str, *args: Any, countdown_s: float | None = None) -> None:
        """Send task ``name`` with ``args`` once the transaction has committed (the same job
        enqueued twice in one unit of work is sent once)."""
        job = Job(name, tuple(args), countdown_s)
        if job not in self._jobs:
            self._jobs.append(job)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """The jobs waiting for the commit."""
        return tuple(self._jobs)

    def _sender(self) -> JobSender:
        send = self.session.info.get("jobs")
        if send is None and _fallback_sender:
            send = _fallback_sender[0]
        if send is None:
            raise RuntimeError("jobs were enqueued on a unit of work whose session factory has "
                               "no job sender (and proctor.workers was never imported)")
        return send

    def on_rollback(self, fn: Callable[[], object]) -> None:
        """Undo something kept outside the database (e.g. a Redis key) if the work fails."""
        self._on_rollback.append(fn)

    def rollback(self) -> None:
        self.session.rollback()
        self._jobs, self._after_commit = [], []
        pending, self._on_rollback = self._on_rollback, []
        for fn in pending:
            fn()

    def after_commit(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` once the transaction has committed (e.g. enqueue a task carrying ids)."""
        self._after_commit.append(fn)

    def commit(self) -> None:
        self.session.commit()
        pending, self._after_commit = self._after_commit, []
        jobs, self._jobs = self._jobs, []
        for fn in pending:
            fn()
        if jobs:
            send = self._sender()
            for job in jobs:
                send(job)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[UnitOfWork]:
    """Commit on success, roll back on any error: nothing is half-written."""
    session = factory()
    uow = UnitOfWork(session)
    try:
        yield uow
        uow.commit()
    except BaseException:
        uow.rollback()
        raise
    finally:
        session.close()


@asynccontextmanager
async def request_unit_of_work(factory: sessionmaker[Session]) -> AsyncIterator[UnitOfWork]:
    """One unit of work per web request (the API's and the portal's dependency): committed once
    after the route returns, rolled back (its jobs dropped) on any error, closed either way."""
    from starlette.concurrency import run_in_threadpool

    uow = UnitOfWork(factory())
    try:
        yield uow
    except BaseException:
        if not uow.finished:
            await run_in_threadpool(_finish, uow, commit=False)
        raise
    if not uow.finished:
        await run_in_threadpool(_finish, uow, commit=True)


def finish_in_route(uow: UnitOfWork) -> None:
    """Commit and close a request's unit of work from the route's own worker thread, as its
    last step, instead of in one more trip to a worker thread after it (the hot ingest route:
    each trip cost about as much as a short query). On any error it is rolled back as always."""
    _finish(uow, commit=True)
    uow.finished = True


def _finish(uow: UnitOfWork, *, commit: bool) -> None:
    """Commit (rolling back if that fails) or roll back, then close: one trip to a worker
    thread, not three (each trip cost about as much as a short query, docs/scaling.md)."""
    try:
        if not commit:
            uow.rollback()
            return
        try:
            uow.commit()
        except BaseException:
            uow.rollback()
            raise
    finally:
        uow.session.close()
