"""faces: who reviewed a staff-reviewed enrolment upload

Revision ID: 0012_faces3
Revises: 0011_harden_auth
Create Date: 2026-12-02 14:20:00

`face_enrolments.reviewed_by`: the staff member who checked a single uploaded reference photo
against the person (`source = staff_reviewed`); NULL for bursts and bare uploads.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_faces3"
down_revision: str | Sequence[str] | None = "0011_harden_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("face_enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("face_enrolments", schema=None) as batch_op:
        batch_op.drop_column("reviewed_by")
