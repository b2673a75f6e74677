"""Shared fixtures: every API test runs on SQLite (the embedded default) AND real PostgreSQL.

PostgreSQL and Redis are this machine's real servers (`make services` starts them). A test that
needs one fails loudly when it is down; nothing is skipped silently. To run on SQLite alone, set
PROCTOR_TEST_BACKENDS=sqlite explicitly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from proctor.config import Settings
from proctor.main import create_app
from proctor.storage.db import Base, engine_for
from proctor.storage.migrate import upgrade
from tests.factories import Platform, issue_key

PG_URL = os.environ.get("PROCTOR_PG_TEST_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/proctor_test")
REDIS_URL = os.environ.get("PROCTOR_REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
BACKENDS = os.environ.get("PROCTOR_TEST_BACKENDS", "sqlite,postgresql").split(",")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "proctor.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    engine = create_engine(PG_URL)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # pragma: no cover - the machine's PostgreSQL must be up
        pytest.fail(f"PostgreSQL at {PG_URL} is not usable ({exc}); run `make services`")
    finally:
        engine.dispose()
    upgrade(PG_URL)
    return PG_URL


def _truncate_pg(url: str) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine_for(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "proctor.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    _truncate_pg(url)
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, blob_dir=tmp_path / "blobs", broker_url=None,
                    redis_url=None)


@pytest.fixture
def app_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def platform(settings: Settings, app_client: TestClient) -> Platform:
    """A course platform of an institution in 郑州市金水区 (410105)."""
    return issue_key(settings, app_client, "郑州市金水区职业培训学校", "410105")


@pytest.fixture
def other_platform(settings: Settings, app_client: TestClient) -> Platform:
    """Another institution, in another county: must never see the first one's data."""
    return issue_key(settings, app_client, "开封市尉氏县技工学校", "410223")
