"""portal sign-in that holds: atomic failure counters, server-side portal sessions

``login_counters``: one row per throttling key (account, account+address, address), counted
by a single upsert ... RETURNING. ``portal_logins``: the signed-in sessions the cookie names,
revoked at sign-out and on a password change.

Revision ID: 0011_harden_auth
Revises: 0010_paperwork2
Create Date: 2026-12-02 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from proctor.storage.db import UTCDateTime

revision: str = "0011_harden_auth"
down_revision: str | Sequence[str] | None = "0010_paperwork2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_counters",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_counters")),
    )
    op.create_table(
        "portal_logins",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_portal_logins_user_id_users")),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_portal_logins")),
    )
    op.create_index(op.f("ix_portal_logins_user_id"), "portal_logins", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_portal_logins_user_id"), table_name="portal_logins")
    op.drop_table("portal_logins")
    op.drop_table("login_counters")
