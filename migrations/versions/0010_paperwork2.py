"""courses.offline_practical_hours: the offline practical class hours of the training plan

Annex 3 row 2 (config/occupations.toml `offline_practical`): the online training of those
occupations must be completed by at least 8 offline practical class hours, which the course's
plan states (422 PRACTICAL_HOURS_PLAN otherwise, docs/paperwork.md "Annex 3").

Revision ID: 0010_paperwork2
Revises: 0005_scale
Create Date: 2026-12-02 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_paperwork2"
down_revision: str | Sequence[str] | None = "0005_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offline_practical_hours", sa.Float(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("offline_practical_hours")
