"""Class rules and the satisfaction gate, through the signed API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from proctor.services import classes
from proctor.storage.db import unit_of_work
from tests.api.sitting import FakeClock
from tests.factories import Platform


def _learners(platform: Platform, n: int, batch: str = "B1") -> None:
    for i in range(n):
        platform.learner(f"s{i}", name=f"学员{i}")
        r = platform.api.put(f"/v1/enrolments/s{i}/elec-101",
                             {"class_batch": batch, "start_date": "2026-11-01"})
        assert r.status_code == 200, r.text


def test_an_institution_below_85_percent_cannot_open_a_class_until_the_county_ends_it(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    platform.course(lessons=1)
    _learners(platform, 10)
    answers = [{"learner_id": f"s{i}", "satisfied": i < 8, "score": 5 if i < 8 else 2}
               for i in range(10)]  # 80 %
    r = platform.api.post("/v1/classes/elec-101/B1/survey", {"answers": answers[:9]})
    assert r.status_code == 200, r.text
    assert r.json()["rate"] == 8 / 9 and r.json()["rectification"] is None  # 88.9 %: fine
    r = platform.api.post("/v1/classes/elec-101/B1/survey", {"answers": answers})
    body = r.json()
    assert body["responses"] == 10 and body["rate"] == 0.8 and body["institution_rate"] == 0.8
    assert body["rectification"]["ends_on"] == "2026-12-02"  # one month from 2026-11-02
    # answering again replaces the learner's answer, never counts twice
    r = platform.api.post("/v1/classes/elec-101/B1/survey", {"answers": answers[:1]})
    assert r.json()["responses"] == 10

    r = platform.api.put("/v1/classes/elec-101/B2", {"opens_on": "2026-11-20", "size": 30})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "SATISFACTION_RECTIFICATION" and "85%" in r.text
    # a first enrolment in a new batch opens a class too: refused, and nothing is stored
    platform.learner("new-1")
    r = platform.api.put("/v1/enrolments/new-1/elec-101",
                         {"class_batch": "B2", "start_date": "2026-11-20"})
    assert r.status_code == 409 and "SATISFACTION_RECTIFICATION" in r.text
    assert platform.api.get("/v1/enrolments/new-1/elec-101").status_code == 404
    # the existing class goes on
    platform.learner("late")
    r = platform.api.put("/v1/enrolments/late/elec-101",
                         {"class_batch": "B1", "start_date": "2026-11-01"})
    assert r.status_code == 200, r.text

    app = app_client.app
    with unit_of_work(app.state.session_factory) as uow:  # type: ignore[attr-defined]
        [(rect, name)] = classes.rectifications(uow.session, [platform.county])
        assert name == platform.institution
        classes.end_rectification(uow, rectification_id=rect.id, actor="user:1 county",
                                  note="整改完成", now=clock.now)
    r = platform.api.put("/v1/classes/elec-101/B2", {"opens_on": "2026-11-20", "size": 30})
    assert r.status_code == 200, r.text
    assert r.json()["size"] == 30 and r.json()["enrolled"] == 0


def test_class_rules_are_422s_naming_the_rule(platform: Platform, app_client: TestClient,
                                             clock: FakeClock) -> None:
    platform.course(lessons=2)
    r = platform.api.put("/v1/classes/elec-101/B1", {"opens_on": "2026-11-20", "size": 81})
    assert r.status_code == 422 and r.json()["error"]["code"] == "CLASS_SIZE" and "80" in r.text
    platform.course("short", lessons=2, duration_s=1800, class_hours=1.0)
    r = platform.api.put("/v1/classes/short/B1", {"opens_on": "2026-11-20", "size": 20})
    assert r.status_code == 422 and r.json()["error"]["code"] == "CLASS_HOUR_SHORT", r.text
    assert "40 minutes" in r.text and "L1, L2" in r.text
    platform.course("cert", lessons=10, certificate_only=True)
    r = platform.api.put("/v1/classes/cert/B1", {"opens_on": "2026-11-20", "size": 20})
    assert r.status_code == 422 and r.json()["error"]["code"] == "CERTIFICATE_ONLY_HOURS", r.text
    platform.course("cert40", lessons=40, certificate_only=True)
    r = platform.api.put("/v1/classes/cert40/B1", {"opens_on": "2026-11-20", "size": 80})
    assert r.status_code == 200, r.text


def test_the_81st_enrolment_is_refused(platform: Platform, app_client: TestClient,
                                       clock: FakeClock) -> None:
    platform.course(lessons=1)
    _learners(platform, 80)
    platform.learner("s80")
    r = platform.api.put("/v1/enrolments/s80/elec-101",
                         {"class_batch": "B1", "start_date": "2026-11-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "CLASS_SIZE", r.text
    assert platform.api.get("/v1/enrolments/s80/elec-101").status_code == 404
