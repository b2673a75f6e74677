"""browser access: the origins an institution's course pages are served from (CORS)

Revision ID: 0005_sdk
Revises: 0004_vision2
Create Date: 2026-12-01 22:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_sdk'
down_revision: str | Sequence[str] | None = '0004_vision2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('institutions') as batch:
        batch.add_column(sa.Column('allowed_origins', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('institutions') as batch:
        batch.drop_column('allowed_origins')
