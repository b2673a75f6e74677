"""Paperwork tests: the archive key in the test's own directory, screenshots beside the portal's."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from proctor.config import Settings
from tests.api.sitting import FakeClock, install_clock

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"archive_key_file": tmp_path / "keys" / "archive.pem"})


@pytest.fixture
def clock(app_client: TestClient) -> FakeClock:
    return install_clock(app_client)
