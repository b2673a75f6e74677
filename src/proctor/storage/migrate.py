"""Alembic, configured from Settings (no alembic.ini needed; one is kept for developers)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from proctor.config import PROJECT_ROOT


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the schema up to date. Feature revisions branch from the foundation: 'heads'."""
    if database_url.startswith("sqlite:///") and database_url != "sqlite:///:memory:":
        Path(database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
