"""Two institutions of one county, an assessment body, and a clock the test sets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from proctor.client import ProctorClient
from proctor.config import Settings
from proctor.services.county.exams import issue_assessor_key
from proctor.storage.db import engine_for, session_factory, unit_of_work
from tests.factories import Platform, issue_key

NOW = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


@dataclass
class Assessor:
    api: ProctorClient
    county: str

    def exam(self, **body: Any) -> httpx.Response:
        return self.api.post("/v1/county/exams", body,
                             headers={"X-Proctor-Assessor-Key": self.api.key_id})


@pytest.fixture
def clock(app_client: TestClient) -> list[datetime]:
    """The server's clock; a test moves it by replacing clock[0]."""
    box = [NOW]
    app_client.app.state.clock = lambda: box[0]  # type: ignore[attr-defined]
    return box


@pytest.fixture
def inst_a(settings: Settings, app_client: TestClient) -> Platform:
    return issue_key(settings, app_client, "郑州市金水区职业培训学校", "410105")


@pytest.fixture
def inst_b(settings: Settings, app_client: TestClient) -> Platform:
    return issue_key(settings, app_client, "郑州市金水区华夏技能培训中心", "410105")


@pytest.fixture
def assessor(settings: Settings, app_client: TestClient) -> Assessor:
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        issued = issue_assessor_key(uow, name="金水区职业技能鉴定所", county_code="410105")
    return Assessor(ProctorClient(key_id=issued.key_id, secret=issued.secret, http=app_client),
                    issued.county_code)


def register(p: Platform, learner: str, id_number: str, course: str, start: str,
             batch: str = "2026-A", expect: int = 200) -> httpx.Response:
    p.course(course, lessons=2)
    r = p.api.put(f"/v1/learners/{learner}", {"real_name": "王芳", "id_number": id_number})
    assert r.status_code == 200, r.text
    r = p.api.put(f"/v1/enrolments/{learner}/{course}",
                  {"class_batch": batch, "start_date": start})
    assert r.status_code == expect, r.text
    return r
