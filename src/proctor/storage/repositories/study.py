"""Queries on study sessions and their telemetry."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from proctor.domain.model import SessionState
from proctor.storage.db import EVENT_TYPE_CODES, EVENT_TYPE_NAMES, driver_connection
from proctor.storage.tables import StudySession, TelemetryEvent


def session_of(session: Session, institution_id: int, session_id: str) -> StudySession | None:
    """A study session, only if it belongs to the institution (no cross-institution reads)."""
    found = session.get(StudySession, session_id)
    return found if found is not None and found.institution_id == institution_id else None


@dataclass(frozen=True, slots=True)
class OwnedSession:
    status: str
    started_at: datetime


def owned_sessions(session: Session, institution_id: int,
                   ids: Iterable[str]) -> dict[str, OwnedSession]:
    """{session id: its status and start} for those of ``ids`` that belong to the institution."""
    wanted = sorted(set(ids))
    owned: dict[str, OwnedSession] = {}
    if not wanted:
        return owned
    if session.get_bind().dialect.name == "postgresql":
        # one plain round trip (the ORM's statement building cost more than the lookup)
        with driver_connection(session).cursor() as cur:
            cur.execute("SELECT id, status, started_at FROM study_sessions "
                        "WHERE institution_id = %s AND id = ANY(%s)", (institution_id, wanted))
            return {sid: OwnedSession(status, started) for sid, status, started in cur}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(StudySession.id, StudySession.status, StudySession.started_at).where(
                StudySession.institution_id == institution_id, StudySession.id.in_(chunk)
            )
        )
        owned.update({sid: OwnedSession(status, started) for sid, status, started in rows})
    return owned


# --- the event key -------------------------------------------------------------------------
# bits 62..48: the session's start day since 2000-01-01 (so a session's events share one
# monthly partition, and the key's range is the partition key); bits 47..0: the first 48 bits
# of md5("{session id}/{event id}") (the same in SQL, for the migration). A collision (another
# event of the same key) is found against the stored ids and moved to the next key.
_EPOCH = date(2000, 1, 1)
_HASH_BITS = 48
_HASH_MASK = (1 << _HASH_BITS) - 1


def day_number(at: datetime | date) -> int:
    d = at.astimezone(UTC).date() if isinstance(at, datetime) else at
    return (d - _EPOCH).days


def key_floor(day: int) -> int:
    """The smallest event key of sessions started on ``day`` (partition bounds)."""
    return day << _HASH_BITS


try:  # CPython's own md5: a third of OpenSSL's per-call cost on short inputs (measured)
    from _md5 import md5 as _md5
except ImportError:  # pragma: no cover - other interpreters
    _md5 = hashlib.md5


def event_key(session_id: str, started_day: int, event_id: str) -> int:
    digest = _md5(f"{session_id}/{event_id}".encode()).digest()
    return (started_day << _HASH_BITS) | int.from_bytes(digest[:6], "big")


# Platforms often make event ids from the session id ("{session id}-{seq}"): stored without
# that prefix, marked "~" (a character event ids can't contain), they cost a few bytes, not 40.
_SHORT = "~"


def stored_event_id(session_id: str, event_id: str) -> str:
    if event_id.startswith(session_id):
        return _SHORT + event_id[len(session_id):]
    return event_id


def public_event_id(session_id: str, stored: str) -> str:
    """The platform's event id from its stored form."""
    return session_id + stored[1:] if stored.startswith(_SHORT) else stored


def _next_key(key: int) -> int:
    """The next key of the same day (wrapping inside it)."""
    return (key & ~_HASH_MASK) | ((key + 1) & _HASH_MASK)


# An event as ingest hands it to storage: (session id, event id, seq, type name, client time,
# server time, its values in EVENT_VALUES order, its extra fields or None).
NewEvent = tuple[str, str, int, str, datetime, datetime, tuple[Any, ...], dict[str, Any] | None]
EVENT_VALUES = ("position", "from_pos", "to_pos", "rate", "visible", "focused", "state")
# the columns of a stored row, in the order event_rows builds them (and COPY names them)
EVENT_COLUMNS = ("event_key", "session_id", "seq", "type", "client_ts", "server_ts", "event_id",
                 "extra", *EVENT_VALUES)
_PG_TYPES = ["int8", "uuid", "int4", "int2", "timestamptz", "timestamptz", "text", "jsonb",
             "float8", "float8", "float8", "float8", "bool", "bool", "text"]
_STORED_ID, _EXTRA = EVENT_COLUMNS.index("event_id"), EVENT_COLUMNS.index("extra")


def event_rows(events: Sequence[NewEvent], started_days: dict[str, int]) -> list[tuple[Any, ...]]:
    """The stored rows of ``events`` (``EVENT_COLUMNS`` order: the key computed, the session as a
    ``uuid.UUID``, the type as its code, the event id in its stored form); ``started_days``: each
    session's start day (``day_number``)."""
    codes, key, short = EVENT_TYPE_CODES, event_key, stored_event_id
    uuids = {sid: uuid.UUID(sid) for sid in started_days}
    return [(key(sid, started_days[sid], eid), uuids[sid], seq, codes[type_], client_ts,
             server_ts, short(sid, eid), extra, *values)
            for sid, eid, seq, type_, client_ts, server_ts, values, extra in events]


def insert_events(session: Session, events: Sequence[NewEvent],
                  started_days: dict[str, int]) -> list[int]:
    """Append ``events`` (distinct (session id, event id) pairs), ignoring those already stored;
    returns the positions in ``events`` of those that were new, in order."""
    if not events:
        return []
    rows = _distinct_keys(event_rows(events, started_days))
    insert = _insert_pg if session.get_bind().dialect.name == "postgresql" else _insert_sqlite
    new: list[int] = []
    pending = list(range(len(rows)))
    for _ in range(64):  # each round moves the colliding rows to their next key
        inserted = insert(session, rows, events, pending)
        if inserted is None:  # every pending row was new
            new.extend(pending)
            break
        new.extend(i for i in pending if rows[i][0] in inserted)
        rest = [i for i in pending if rows[i][0] not in inserted]
        if not rest:
            break
        stored = _stored_ids(session, [rows[i][0] for i in rest])
        pending = []
        for i in rest:
            sid, stored_id = events[i][0], rows[i][_STORED_ID]
            if stored.get(rows[i][0]) == (sid, stored_id):
                continue  # a true duplicate: already stored
            # either an id stored under a moved key earlier, or a real collision
            if _find_moved(session, sid, stored_id):
                continue
            rows[i] = (_next_key(rows[i][0]), *rows[i][1:])
            pending.append(i)
        if not pending:
            break
    return sorted(new)


def _distinct_keys(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Two events of one batch whose keys collide: the later one moved to the next free key
    (an INSERT ... ON CONFLICT would store one and count both)."""
    keys = {row[0] for row in rows}
    if len(keys) == len(rows):
        return rows
    taken: set[int] = set()
    for i, row in enumerate(rows):
        key = row[0]
        if key in taken:
            while key in taken or key in keys:
                key = _next_key(key)
            rows[i] = (key, *row[1:])
        taken.add(key)
    return rows


def _stored_ids(session: Session, keys: Sequence[int]) -> dict[int, tuple[str, str]]:
    e = TelemetryEvent
    rows = session.execute(select(e.event_key, e.session_id, e.event_id)
                           .where(e.event_key.in_(list(keys))))
    return {k: (str(sid), eid) for k, sid, eid in rows}


def _find_moved(session: Session, session_id: str, stored_id: str) -> bool:
    """Whether this (session, stored event id) is already stored under a later key of its
    probe run."""
    e = TelemetryEvent
    found = session.execute(select(e.event_key).where(
        e.session_id == session_id, e.event_id == stored_id)).first()
    return found is not None


def _insert_sqlite(session: Session, rows: list[tuple[Any, ...]], events: Sequence[NewEvent],
                   pending: list[int]) -> set[int]:
    stmt = (
        sqlite.insert(TelemetryEvent)
        .on_conflict_do_nothing(index_elements=["event_key"])
        .returning(TelemetryEvent.event_key)
    )
    values = []
    for i in pending:
        value = dict(zip(EVENT_COLUMNS, rows[i], strict=True))
        value["session_id"], value["type"] = events[i][0], events[i][3]  # as the ORM takes them
        values.append(value)
    return set(session.scalars(stmt, values))


_PG_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS events_in "
             "(LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
_PG_COPY_EVENTS = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PG_COPY = f"COPY events_in ({', '.join(EVENT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
# in key order: two batches inserting the same keys take their locks in one order (no deadlock)
_PG_MOVE = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events_in ORDER BY event_key "
            "ON CONFLICT (event_key) DO NOTHING RETURNING event_key")


# Up to this many rows go in one INSERT (one round trip); more are COPYed (three round trips
# more, cheaper per row). Measured: docs/scaling.md.
_PG_VALUES_MAX = 64
# one array per column: the same statement text for any row count, so psycopg converts it once
# and PostgreSQL prepares it once (a VALUES row per event, 15 parameters each, was parsed again
# on every call: past 50 parameters psycopg does not cache its conversion)
_PG_INSERT_ARRAYS = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"%b::{t}[]" for t in _PG_TYPES)
    + ") AS given ORDER BY 1 ON CONFLICT (event_key) DO NOTHING RETURNING event_key")


def _pg_values(rows: list[tuple[Any, ...]], pending: list[int]) -> list[tuple[Any, ...]]:
    """The pending rows as COPY / INSERT values, sorted by key: two batches inserting the same
    keys take their locks in one order (no deadlock); extra fields as JSONB."""
    from psycopg.types.json import Jsonb

    values = [rows[i] for i in pending]
    for n, row in enumerate(values):
        if row[_EXTRA] is not None:
            values[n] = (*row[:_EXTRA], Jsonb(row[_EXTRA]), *row[_EXTRA + 1:])
    values.sort(key=itemgetter(0))
    return values


def _insert_pg(session: Session, rows: list[tuple[Any, ...]], events: Sequence[NewEvent],
               pending: list[int]) -> set[int] | None:
    """The keys stored of the pending rows, or None when all of them were: a small batch in
    one ``INSERT ... VALUES ... ON CONFLICT DO NOTHING RETURNING``; a larger one by COPY,
    straight into the table when every key is new, else into a temporary table, then one
    INSERT ... SELECT ... ON CONFLICT DO NOTHING.

    Measured against psycopg's pipelined executemany in docs/benchmarks.md (ingest section).
    """
    from psycopg.errors import UniqueViolation

    values = _pg_values(rows, pending)
    raw = driver_connection(session)
    with raw.cursor() as cur:
        if len(values) <= _PG_VALUES_MAX:
            cur.execute(_PG_INSERT_ARRAYS, [list(column) for column in zip(*values, strict=True)])
            return {k for (k,) in cur.fetchall()}
        # First straight into the table, as fast as a bare COPY: a batch whose keys are all
        # new (the usual one) is stored whole. Any key already there (a batch sent again, a
        # batch racing another with the same events, a collision) fails the COPY alone, undone
        # to the savepoint; then the staged way finds which rows are new.
        cur.execute("SAVEPOINT events_copy")
        try:
            copy_rows(cur, _PG_COPY_EVENTS, values)
        except UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT events_copy")
        else:
            return None
        cur.execute(_PG_STAGE)
        cur.execute("TRUNCATE events_in")
        copy_rows(cur, _PG_COPY, values)
        cur.execute(_PG_MOVE)
        return {k for (k,) in cur.fetchall()}


def copy_rows(cur: Any, statement: str, values: Sequence[tuple[Any, ...]]) -> None:
    """Binary COPY of rows in ``EVENT_COLUMNS`` order (``statement`` names those columns)."""
    with cur.copy(statement) as copy:
        copy.set_types(_PG_TYPES)
        write = copy.write_row
        for row in values:
            write(row)


def touch_sessions(session: Session, session_ids: Iterable[str], at: datetime) -> None:
    """The sessions' last-seen time, one statement for the whole batch, never waiting on a row.

    On PostgreSQL rows another transaction holds are skipped (SKIP LOCKED): that transaction is
    writing the same field to a time a few milliseconds apart, so nothing of meaning is lost,
    and concurrent batches over the same sessions can't wait on each other (no deadlock)."""
    ids = sorted(set(session_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        with driver_connection(session).cursor() as cur:
            cur.execute(
                "UPDATE study_sessions SET last_event_at = %(at)s WHERE id IN ("
                " SELECT id FROM study_sessions WHERE id = ANY(%(ids)s)"
                " AND (last_event_at IS NULL OR last_event_at < %(at)s)"
                " ORDER BY id FOR UPDATE SKIP LOCKED)", {"at": at, "ids": ids})
        return
    session.execute(update(StudySession).where(StudySession.id.in_(ids)).values(last_event_at=at))


def end_sessions(session: Session, ended_at: dict[str, datetime]) -> None:
    """Called before ``touch_sessions`` (in id order): the only row locks ingest waits for."""
    for sid, at in sorted(ended_at.items()):
        session.execute(
            update(StudySession)
            .where(StudySession.id == sid, StudySession.status == SessionState.OPEN)
            .values(status=SessionState.ENDED, ended_at=at)
        )


def events_of(session: Session, session_id: str) -> list[TelemetryEvent]:
    """A session's events in the client's seq order (ties by arrival)."""
    return list(
        session.scalars(
            select(TelemetryEvent)
            .where(TelemetryEvent.session_id == session_id)
            .order_by(TelemetryEvent.seq, TelemetryEvent.server_ts)
        )
    )


# one list per field of the rule engine's events, in ``Event`` field order
EventLists = tuple[list[Any], ...]
_EVENT_COLUMNS = 11


def event_columns(session: Session, session_ids: Sequence[str]) -> dict[str, EventLists]:
    """The rule engine's fields of several sessions' events, one list per field (seq, type,
    client and server time as unix seconds or aware datetimes, position, from, to, rate,
    visible, focused, state), every list in one order (the order stored; the engine puts them
    in seq order): evaluation reads thousands of events per session, and an object (even a
    tuple) per event cost more than the query."""
    if not session_ids:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        return _event_columns_pg(session, session_ids)
    e = TelemetryEvent
    out: dict[str, list[tuple[Any, ...]]] = {sid: [] for sid in session_ids}
    # ordered by integers only: sorting by the session id string (a collation) cost more
    # than the rest of the query; rows are grouped per session below, keeping that order
    stmt = (select(e.session_id, e.seq, e.type, e.client_ts, e.server_ts, e.position,
                   e.from_pos, e.to_pos, e.rate, e.visible, e.focused, e.state)
            .where(e.session_id.in_(list(session_ids)))
            .order_by(e.seq, e.server_ts))
    for sid, *values in session.execute(stmt):
        out[sid].append(tuple(values))
    return {sid: _transposed(rows) for sid, rows in out.items()}


def _transposed(rows: list[tuple[Any, ...]]) -> EventLists:
    return tuple(list(column) for column in zip(*rows, strict=True)) if rows else \
        tuple([] for _ in range(_EVENT_COLUMNS))


# Per session, its events' fields as arrays (a lateral aggregate per session: no grouping of
# 12k rows): one row per session, whose arrays psycopg's C loader turns into lists at once,
# instead of a row per event. In the order stored, not sorted here: a settled month is
# rewritten in (session, seq) order (storage/compaction.py), so its sessions come in seq order
# and the engine, which checks that without a sort, sorts nothing; a session out of order (the
# current month's key-ordered batches) is sorted by the engine (timeline.in_seq_order: ~0.1 ms
# for 300 shuffled events). PostgreSQL's sort of every session cost ~2-5 ms a learner.
# ``date_part`` gives the times as doubles (exactly what ``datetime.timestamp()`` gives:
# integer microseconds over 10^6, rounded once).
_EVENT_ARRAYS_PG = (
    "SELECT s.id::text, e.* FROM unnest(%s::uuid[]) AS s(id) CROSS JOIN LATERAL ("
    "SELECT array_agg(seq), array_agg(type), array_agg(date_part('epoch', client_ts)), "
    "array_agg(date_part('epoch', server_ts)), array_agg(position), array_agg(from_pos), "
    "array_agg(to_pos), array_agg(rate), array_agg(visible), array_agg(focused), "
    "array_agg(state) FROM events WHERE session_id = s.id) AS e")


def _event_columns_pg(session: Session, session_ids: Sequence[str]) -> dict[str, EventLists]:
    names = EVENT_TYPE_NAMES
    with driver_connection(session).cursor(binary=True) as cur:
        cur.execute(_EVENT_ARRAYS_PG, (list(dict.fromkeys(session_ids)),))
        rows = cur.fetchall()
    out: dict[str, EventLists] = {}
    for sid, seq, codes, *rest in rows:
        if seq is None:  # no events (an aggregate of no rows is NULL)
            out[sid] = tuple([] for _ in range(_EVENT_COLUMNS))
        else:
            out[sid] = (seq, [names[c] for c in codes], *rest)
    return out
