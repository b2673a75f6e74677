"""Shared fixtures: every API test runs on SQLite (the embedded default) AND real PostgreSQL.

PostgreSQL and Redis are this machine's real servers (`make services` starts them). A test that
needs one fails loudly when it is down; nothing is skipped silently. To run on SQLite alone, set
PROCTOR_TEST_BACKENDS=sqlite explicitly.
"""

from __future__ import annotations

import os
import shutil
import uuid
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

# the run's figures (requests fuzzed, 5xx, faults survived, events lost) in its summary
pytest_plugins = ["tests.tally"]

# Each test run gets its own PostgreSQL database (made here, dropped at the end), so that
# several runs on one machine (CI, developers, parallel worktrees) never clobber each other.
_PG_SERVER = os.environ.get("PROCTOR_PG_TEST_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/proctor_test")
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
PG_URL = _PG_SERVER.rsplit("/", 1)[0] + f"/proctor_test_{RUN_ID}"
REDIS_PREFIX = f"proctor-test-{RUN_ID}:"
REDIS_URL = os.environ.get("PROCTOR_REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
BACKENDS = os.environ.get("PROCTOR_TEST_BACKENDS", "sqlite,postgresql").split(",")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "proctor.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    admin = create_engine(_PG_SERVER.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = PG_URL.rsplit("/", 1)[1]
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - the machine's PostgreSQL must be up
        pytest.fail(f"PostgreSQL at {_PG_SERVER} is not usable ({exc}); run `make services`")
    upgrade(PG_URL)
    yield PG_URL
    engine_for(PG_URL).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


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


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    """One Playwright driver per test process: its sync API can't be started twice at once, and
    the portal's and the SDK's browsers (different launch flags) may run in the same worker."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright
