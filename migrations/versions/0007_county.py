"""the county's view: person keys on learners, exams, assessor keys, session facts, cases

Revision ID: 0005_county
Revises: 0004_vision2
Create Date: 2026-12-01 22:00:00

Backfills learners.id_hash with the HMAC of each ID number under the server's person key
(settings.person_key or var/person_key), so learners registered before this revision are linked
across institutions too.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import proctor.storage.db

revision: str = '0005_county'
down_revision: str | Sequence[str] | None = '0005_paperwork'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = proctor.storage.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_learners_id_hash', ['id_hash'], unique=False)
    _backfill_person_keys()

    op.create_table(
        'county_assessor_keys',
        sa.Column('key_id', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('county_code', sa.String(length=6), nullable=False),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('revoked_at', UTC, nullable=True),
        sa.PrimaryKeyConstraint('key_id', name=op.f('pk_county_assessor_keys')))
    op.create_table(
        'county_exams',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=64), nullable=False),
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('class_batch', sa.String(length=64), nullable=True),
        sa.Column('occupation', sa.String(length=100), nullable=False),
        sa.Column('exam_on', sa.Date(), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['learner_id'], ['learners.id'],
                                name=op.f('fk_county_exams_learner_id_learners')),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'],
                                name=op.f('fk_county_exams_institution_id_institutions')),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'],
                                name=op.f('fk_county_exams_course_id_courses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_county_exams')),
        sa.UniqueConstraint('learner_id', 'course_id', 'exam_on',
                            name=op.f('uq_county_exams_learner_id_course_id_exam_on')))
    with op.batch_alter_table('county_exams', schema=None) as batch_op:
        batch_op.create_index('ix_county_exams_person_on', ['person', 'exam_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_county_exams_institution_id'), ['institution_id'],
                              unique=False)
    op.create_table(
        'county_session_facts',
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.Column('learner_id', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=64), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('class_batch', sa.String(length=64), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('start_at', UTC, nullable=False),
        sa.Column('end_at', UTC, nullable=False),
        sa.Column('device_id', sa.String(length=200), nullable=True),
        sa.Column('fingerprint', sa.String(length=200), nullable=True),
        sa.Column('ip24', sa.String(length=64), nullable=True),
        sa.Column('heartbeats', sa.Integer(), nullable=False),
        sa.Column('heartbeat_jitter_ms', sa.Float(), nullable=True),
        sa.Column('sequence_digest', sa.String(length=64), nullable=True),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('session_id', name=op.f('pk_county_session_facts')))
    with op.batch_alter_table('county_session_facts', schema=None) as batch_op:
        batch_op.create_index('ix_county_facts_start', ['start_at'], unique=False)
        batch_op.create_index('ix_county_facts_person_start', ['person', 'start_at'], unique=False)
        batch_op.create_index('ix_county_facts_device', ['device_id'], unique=False)
        batch_op.create_index('ix_county_facts_fingerprint', ['fingerprint'], unique=False)
        batch_op.create_index('ix_county_facts_ip24_start', ['ip24', 'start_at'], unique=False)
        batch_op.create_index('ix_county_facts_digest', ['sequence_digest'], unique=False)
    op.create_table(
        'county_cases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rule', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('summary', sa.String(length=500), nullable=False),
        sa.Column('session_ids', sa.JSON(), nullable=False),
        sa.Column('learner_ids', sa.JSON(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('opened_at', UTC, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('decided_at', UTC, nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                                name=op.f('fk_county_cases_decided_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_county_cases')),
        sa.UniqueConstraint('rule', 'key', name=op.f('uq_county_cases_rule_key')))
    with op.batch_alter_table('county_cases', schema=None) as batch_op:
        batch_op.create_index('ix_county_cases_status', ['status'], unique=False)
    op.create_table(
        'county_case_institutions',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['county_cases.id'], ondelete='CASCADE',
                                name=op.f('fk_county_case_institutions_case_id_county_cases')),
        sa.ForeignKeyConstraint(
            ['institution_id'], ['institutions.id'],
            name=op.f('fk_county_case_institutions_institution_id_institutions')),
        sa.PrimaryKeyConstraint('case_id', 'institution_id',
                                name=op.f('pk_county_case_institutions')))
    with op.batch_alter_table('county_case_institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_county_case_institutions_institution_id'),
                              ['institution_id'], unique=False)
    op.create_table(
        'county_case_sessions',
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['county_cases.id'], ondelete='CASCADE',
                                name=op.f('fk_county_case_sessions_case_id_county_cases')),
        sa.PrimaryKeyConstraint('case_id', 'session_id', name=op.f('pk_county_case_sessions')))
    with op.batch_alter_table('county_case_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_county_case_sessions_session_id'), ['session_id'],
                              unique=False)


def _backfill_person_keys() -> None:
    from proctor.config import Settings
    from proctor.domain.county.person import person_hash
    from proctor.services.county.keys import person_key

    key = person_key(Settings())
    learners = sa.table('learners', sa.column('id', sa.Integer), sa.column('id_number', sa.String),
                        sa.column('id_hash', sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(learners.c.id, learners.c.id_number)).all()
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        conn.execute(learners.update().where(learners.c.id == sa.bindparam('lid'))
                     .values(id_hash=sa.bindparam('h')),
                     [{'lid': r.id, 'h': person_hash(r.id_number, key)} for r in chunk])


def downgrade() -> None:
    for table in ('county_case_sessions', 'county_case_institutions', 'county_cases',
                  'county_session_facts', 'county_exams', 'county_assessor_keys'):
        op.drop_table(table)
    with op.batch_alter_table('learners', schema=None) as batch_op:
        batch_op.drop_index('ix_learners_id_hash')
        batch_op.drop_column('id_hash')
