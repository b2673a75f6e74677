"""sessions_fillfactor: study sessions keep room on their pages for in-place (HOT) updates

Revision ID: 0014_sessions_fillfactor
Revises: 0013_queue
Create Date: 2026-12-07 23:30:00

Every batch of events moves its sessions' `last_event_at`. With full pages PostgreSQL wrote
each such update as a new row version elsewhere and into all six indexes of the table: in the
ingest bench 16% of the updates were in place (HOT), 16,134 dead versions piled up beside 100
live rows, and the update was the costliest statement of a batch of 10. With pages filled to
70% the new version stays on its page and no index is touched (95% and more in place). The
setting applies to pages written from now on; `VACUUM FULL study_sessions` rewrites the old
ones (a lock on the table while it runs: at a quiet hour). PostgreSQL only.
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_sessions_fillfactor"
down_revision: str | Sequence[str] | None = "0013_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE study_sessions SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE study_sessions RESET (fillfactor)")
