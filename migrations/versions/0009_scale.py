"""events: narrow rows, a 64-bit event key, monthly partitions on PostgreSQL

Moves every stored event into the new layout (docs/scaling.md): the session as a native uuid,
the type as a small integer, no surrogate id and no institution column, and the 64-bit
``event_key`` (the session's start day and a hash of session and event id) as the one unique
key; on PostgreSQL the table is range-partitioned by that key, one partition per month of
sessions, with a default partition, a dedup'd session index and a BRIN index on receive time.

Revision ID: 0005_scale
Revises: 0005_county
Create Date: 2026-12-01 22:00:00
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005_scale"
down_revision: str | Sequence[str] | None = "0005_faces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TYPES = {"play": 1, "pause": 2, "seek": 3, "ratechange": 4, "heartbeat": 5, "visibility": 6,
          "focus": 7, "lesson.complete": 8, "session.end": 9}
# ids made from the session id are stored without it, marked "~" (repositories/study.py)
_SHORT_SQL = ("(CASE WHEN left(e.event_id, 36) = s.id THEN '~' || substr(e.event_id, 37) "
              "ELSE e.event_id END)")
_COLS = ("event_key, session_id, client_ts, server_ts, position, from_pos, to_pos, rate, seq, "
         "type, visible, focused, state, event_id, extra")


def _type_case(column: str) -> str:
    whens = " ".join(f"WHEN '{k}' THEN {v}" for k, v in _TYPES.items())
    return f"(CASE {column} {whens} END)::smallint"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_pg()
    else:
        _upgrade_sqlite()


def _upgrade_pg() -> None:
    from proctor.storage import partitions

    bind = op.get_bind()
    op.execute("ALTER TABLE events RENAME TO events_v1")
    op.execute("ALTER TABLE events_v1 RENAME CONSTRAINT pk_events TO pk_events_v1")
    op.execute("ALTER INDEX IF EXISTS ix_events_session_seq RENAME TO ix_events_v1_session_seq")
    op.execute("""
        CREATE TABLE events (
            event_key bigint NOT NULL,
            session_id uuid NOT NULL,
            client_ts timestamptz NOT NULL,
            server_ts timestamptz NOT NULL,
            position double precision,
            from_pos double precision,
            to_pos double precision,
            rate double precision,
            seq integer NOT NULL,
            type smallint NOT NULL,
            visible boolean,
            focused boolean,
            state varchar(16),
            event_id varchar(64) NOT NULL,
            extra jsonb,
            CONSTRAINT pk_events PRIMARY KEY (event_key)
        ) PARTITION BY RANGE (event_key)""")
    op.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF events DEFAULT")
    # months from the oldest session with events to three months ahead
    oldest = bind.execute(sa.text(
        "SELECT min(s.started_at) FROM study_sessions s "
        "WHERE EXISTS (SELECT 1 FROM events_v1 e WHERE e.session_id = s.id)")).scalar()
    today = datetime.now(UTC).date()
    month = partitions.month_start(oldest.astimezone(UTC).date() if oldest else today)
    last = partitions.month_start(today, 3)
    while month <= last:
        op.execute(partitions.create_sql(month))
        month = partitions.month_start(month, 1)
    key = ("(((s.started_at AT TIME ZONE 'UTC')::date - date '2000-01-01')::bigint << 48) | "
           "('x' || substr(md5(s.id || '/' || e.event_id), 1, 12))::bit(48)::bigint")
    op.execute(f"""
        INSERT INTO events ({_COLS})
        SELECT {key}, s.id::uuid, e.client_ts, e.server_ts, e.position, e.from_pos, e.to_pos,
               e.rate, e.seq, {_type_case('e.type')}, e.visible, e.focused, e.state,
               {_SHORT_SQL}, e.extra::jsonb
        FROM events_v1 e JOIN study_sessions s ON s.id = e.session_id
        ORDER BY e.id
        ON CONFLICT (event_key) DO NOTHING""")
    _move_collisions_pg(bind, key)
    op.execute("DROP TABLE events_v1")
    # deduplicated (one entry per session and page run): a few bytes per event
    op.execute("CREATE INDEX ix_events_session_id ON events (session_id)")
    # events arrive in receive-time order: a BRIN index is a few pages per partition
    op.execute("CREATE INDEX ix_events_server_ts ON events USING brin (server_ts)")


def _move_collisions_pg(bind: sa.Connection, key: str) -> None:
    """Rows whose key another event took (a 48-bit hash collision): the next free key."""
    left = bind.execute(sa.text(f"""
        SELECT {key} AS k, s.id, e.client_ts, e.server_ts, e.position, e.from_pos, e.to_pos,
               e.rate, e.seq, {_type_case('e.type')} AS t, e.visible, e.focused, e.state,
               {_SHORT_SQL}, e.extra::text
        FROM events_v1 e JOIN study_sessions s ON s.id = e.session_id
        WHERE NOT EXISTS (SELECT 1 FROM events n WHERE n.session_id = s.id::uuid
                          AND n.event_id = {_SHORT_SQL})""")).all()
    mask = (1 << 48) - 1
    for row in left:
        k = row[0]
        while True:
            k = (k & ~mask) | ((k + 1) & mask)
            done = bind.execute(sa.text(
                f"INSERT INTO events ({_COLS}) VALUES (:k, CAST(:sid AS uuid), :c, :s, :p, :f, "
                ":t2, :r, :q, :ty, :v, :fo, :st, :eid, CAST(:x AS jsonb)) "
                "ON CONFLICT (event_key) DO NOTHING RETURNING event_key"),
                {"k": k, "sid": row[1], "c": row[2], "s": row[3], "p": row[4], "f": row[5],
                 "t2": row[6], "r": row[7], "q": row[8], "ty": row[9], "v": row[10],
                 "fo": row[11], "st": row[12], "eid": row[13], "x": row[14]}).first()
            if done:
                break


def _upgrade_sqlite() -> None:
    import hashlib

    bind = op.get_bind()
    op.create_table(
        "events_v2",
        sa.Column("event_key", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("client_ts", sa.DateTime(), nullable=False),
        sa.Column("server_ts", sa.DateTime(), nullable=False),
        sa.Column("position", sa.Float()),
        sa.Column("from_pos", sa.Float()),
        sa.Column("to_pos", sa.Float()),
        sa.Column("rate", sa.Float()),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("visible", sa.Boolean()),
        sa.Column("focused", sa.Boolean()),
        sa.Column("state", sa.String(16)),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("extra", sa.JSON()),
        sa.PrimaryKeyConstraint("event_key", name="pk_events"),
    )
    rows = bind.execute(sa.text(
        "SELECT e.session_id, s.started_at, e.event_id, e.client_ts, e.server_ts, e.position, "
        "e.from_pos, e.to_pos, e.rate, e.seq, e.type, e.visible, e.focused, e.state, e.extra "
        "FROM events e JOIN study_sessions s ON s.id = e.session_id ORDER BY e.id")).all()
    used: set[int] = set()
    mask = (1 << 48) - 1
    out = []
    for r in rows:
        started = r[1] if isinstance(r[1], datetime) else datetime.fromisoformat(str(r[1]))
        day = (started.date() - date(2000, 1, 1)).days
        k = (day << 48) | int(hashlib.md5(f"{r[0]}/{r[2]}".encode()).hexdigest()[:12], 16)
        while k in used:
            k = (k & ~mask) | ((k + 1) & mask)
        used.add(k)
        eid = "~" + r[2][len(r[0]):] if r[2].startswith(r[0]) else r[2]
        out.append({"k": k, "sid": r[0], "eid": eid, "c": r[3], "s": r[4], "p": r[5], "f": r[6],
                    "t": r[7], "r": r[8], "q": r[9], "ty": _TYPES[r[10]], "v": r[11],
                    "fo": r[12], "st": r[13], "x": r[14]})
    if out:
        bind.execute(sa.text(
            f"INSERT INTO events_v2 ({_COLS}) VALUES (:k, :sid, :c, :s, :p, :f, :t, :r, :q, :ty, "
            ":v, :fo, :st, :eid, :x)"), out)
    op.drop_table("events")
    op.rename_table("events_v2", "events")
    op.create_index("ix_events_session_id", "events", ["session_id"])
    op.create_index("ix_events_server_ts", "events", ["server_ts"])


def downgrade() -> None:
    bind = op.get_bind()
    names = ", ".join(f"WHEN {v} THEN '{k}'" for k, v in _TYPES.items()).replace(",", "")
    op.rename_table("events", "events_v2")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE events_v2 RENAME CONSTRAINT pk_events TO pk_events_v2")
        op.execute("ALTER INDEX IF EXISTS ix_events_session_id RENAME TO ix_events_v2_session_id")
        op.execute("ALTER INDEX IF EXISTS ix_events_server_ts RENAME TO ix_events_v2_server_ts")
    else:
        op.drop_index("ix_events_session_id", table_name="events_v2")
        op.drop_index("ix_events_server_ts", table_name="events_v2")
    import proctor.storage.db

    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("client_ts", proctor.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("server_ts", proctor.storage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("position", sa.Float()),
        sa.Column("from_pos", sa.Float()),
        sa.Column("to_pos", sa.Float()),
        sa.Column("rate", sa.Float()),
        sa.Column("visible", sa.Boolean()),
        sa.Column("focused", sa.Boolean()),
        sa.Column("state", sa.String(16)),
        sa.Column("extra", sa.JSON()),
        sa.UniqueConstraint("institution_id", "event_id", name="uq_events_institution_id_event_id"),
    )
    op.create_index("ix_events_session_seq", "events", ["session_id", "seq"])
    cast_sid = "e.session_id::text" if bind.dialect.name == "postgresql" else "e.session_id"
    extra = "e.extra::json" if bind.dialect.name == "postgresql" else "e.extra"
    op.execute(f"""
        INSERT INTO events (institution_id, event_id, session_id, seq, type, client_ts,
                            server_ts, position, from_pos, to_pos, rate, visible, focused,
                            state, extra)
        SELECT s.institution_id,
               CASE WHEN substr(e.event_id, 1, 1) = '~' THEN {cast_sid} || substr(e.event_id, 2)
                    ELSE e.event_id END, {cast_sid}, e.seq, CASE e.type {names} END,
               e.client_ts, e.server_ts, e.position, e.from_pos, e.to_pos, e.rate, e.visible,
               e.focused, e.state, {extra}
        FROM events_v2 e JOIN study_sessions s ON s.id = {cast_sid}
        ORDER BY e.server_ts, e.seq
        ON CONFLICT DO NOTHING""")
    op.drop_table("events_v2")
