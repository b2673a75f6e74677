"""queue: verdicts carry their session's institution and start, and whether they await a decision

Revision ID: 0013_queue
Revises: 0012_faces3
Create Date: 2026-12-02 17:20:00

The review queue (awaiting first, newest first), its count and the dashboard's counts read the
verdicts table alone, by index, instead of joining every session of the county per page:
`verdicts.institution_id` and `verdicts.session_started_at` are copied from the session (which
never moves), `verdicts.awaiting` is a stored generated column. Existing rows are filled from
their sessions.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from proctor.storage.db import UTCDateTime

revision: str = "0013_queue"
down_revision: str | Sequence[str] | None = "0012_faces3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FLAGGED = "engine_status = 'invalid' OR status IN ('invalid', 'under_review')"
AWAITING = "status = 'under_review' OR (engine_status = 'invalid' AND NOT reviewed)"


def upgrade() -> None:
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("institution_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("session_started_at", UTCDateTime(),
                                      nullable=True))
    op.execute("UPDATE verdicts SET "
               "institution_id = (SELECT s.institution_id FROM study_sessions s "
               "WHERE s.id = verdicts.session_id), "
               "session_started_at = (SELECT s.started_at FROM study_sessions s "
               "WHERE s.id = verdicts.session_id)")
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.alter_column("institution_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("session_started_at", existing_type=UTCDateTime(),
                              nullable=False)
        batch_op.add_column(sa.Column("awaiting", sa.Boolean(),
                                      sa.Computed(AWAITING, persisted=True), nullable=True))
        batch_op.create_foreign_key("fk_verdicts_institution_id_institutions", "institutions",
                                    ["institution_id"], ["id"])
    op.create_index("ix_verdicts_started", "verdicts", ["session_started_at"],
                    postgresql_include=["institution_id", "status", "engine_status", "rules"])
    op.create_index("ix_verdicts_queue", "verdicts",
                    ["awaiting", "session_started_at", "session_id"],
                    postgresql_where=sa.text(FLAGGED), sqlite_where=sa.text(FLAGGED))
    op.create_index("ix_verdicts_flagged_started", "verdicts",
                    ["session_started_at", "session_id"],
                    postgresql_where=sa.text(FLAGGED), sqlite_where=sa.text(FLAGGED))
    op.create_index("ix_study_sessions_started", "study_sessions", ["started_at"],
                    postgresql_include=["institution_id"])


def downgrade() -> None:
    op.drop_index("ix_study_sessions_started", table_name="study_sessions")
    op.drop_index("ix_verdicts_flagged_started", table_name="verdicts")
    op.drop_index("ix_verdicts_queue", table_name="verdicts")
    op.drop_index("ix_verdicts_started", table_name="verdicts")
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_constraint("fk_verdicts_institution_id_institutions", type_="foreignkey")
        batch_op.drop_column("awaiting")
        batch_op.drop_column("session_started_at")
        batch_op.drop_column("institution_id")
