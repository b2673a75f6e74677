"""face enrolment submissions

Revision ID: 0004_vision2
Revises: 0003
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proctor.storage.db

revision: str = '0004_vision2'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('face_enrolments',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('blob_key', sa.String(length=200), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('submitted_at', proctor.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('processed_at', proctor.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'],
                            name=op.f('fk_face_enrolments_learner_id_learners')),
    sa.ForeignKeyConstraint(['template_id'], ['face_templates.id'],
                            name=op.f('fk_face_enrolments_template_id_face_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_enrolments'))
    )
    with op.batch_alter_table('face_enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_face_enrolments_learner_submitted',
                              ['learner_id', 'submitted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('face_enrolments', schema=None) as batch_op:
        batch_op.drop_index('ix_face_enrolments_learner_submitted')
    op.drop_table('face_enrolments')
