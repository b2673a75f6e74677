"""faces: enrolment source, 1:N identity holds

Revision ID: 0005_faces
Revises: 0004_vision2
Create Date: 2026-12-01 22:30:00

Existing templates keep their model column ("dlib_resnet_v1/yunet_2026may"); SFace templates
are added from the stored enrolment photos by `proctor faces reenrol` (no data is changed here).
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proctor.storage.db

revision: str = '0005_faces'
down_revision: str | Sequence[str] | None = '0005_county'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('face_enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), nullable=False,
                                      server_default='photo'))
    op.create_table('face_identity_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.String(length=36), nullable=False),
    sa.Column('learner_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('county_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('other_learner_id', sa.Integer(), nullable=False),
    sa.Column('other_template_id', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('distance', sa.Float(), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', proctor.storage.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', proctor.storage.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enrolment_id'], ['face_enrolments.id'],
                            name=op.f('fk_face_identity_holds_enrolment_id_face_enrolments')),
    sa.ForeignKeyConstraint(['learner_id'], ['learners.id'],
                            name=op.f('fk_face_identity_holds_learner_id_learners')),
    sa.ForeignKeyConstraint(['other_learner_id'], ['learners.id'],
                            name=op.f('fk_face_identity_holds_other_learner_id_learners')),
    sa.ForeignKeyConstraint(['other_template_id'], ['face_templates.id'],
                            name=op.f('fk_face_identity_holds_other_template_id_face_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_face_identity_holds'))
    )
    with op.batch_alter_table('face_identity_holds', schema=None) as batch_op:
        batch_op.create_index('ix_face_identity_holds_county_status',
                              ['county_code', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_face_identity_holds_enrolment_id'),
                              ['enrolment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('face_identity_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_identity_holds_enrolment_id'))
        batch_op.drop_index('ix_face_identity_holds_county_status')
    op.drop_table('face_identity_holds')
    with op.batch_alter_table('face_enrolments', schema=None) as batch_op:
        batch_op.drop_column('source')
