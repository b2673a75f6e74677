"""Annex 3 and the class rules on every path into a class, through the signed API: a course for
an occupation not trained online, a plan short of offline practical hours, a class opened by its
first enrolment under the same rules as an explicit one (docs/paperwork.md §6)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from proctor.storage.db import unit_of_work
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import Course, Enrolment, Lesson
from tests.api.sitting import FakeClock
from tests.factories import Platform

ENROL = {"class_batch": "B1", "start_date": "2026-11-01"}


def _course(occupation: str, **extra: object) -> dict:
    return {"title": "课程", "occupation": occupation, "required_class_hours": 1,
            "lessons": [{"id": "L1", "seq": 1, "duration_s": 2400, "class_hours": 1}], **extra}


def test_a_course_outside_annex_3_or_short_of_offline_hours_is_refused(
        platform: Platform) -> None:
    r = platform.api.put("/v1/courses/dg", _course("电工"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "OCCUPATION_NOT_ONLINE" and err["field"] == "occupation"
    assert "电工" in err["message"] and "附件3" in err["message"]
    assert platform.api.get("/v1/courses/dg").status_code == 404

    r = platform.api.put("/v1/courses/sy", _course("收银员"))  # row 2, no offline hours planned
    assert r.status_code == 422 and r.json()["error"]["code"] == "PRACTICAL_HOURS_PLAN", r.text
    assert r.json()["error"]["field"] == "offline_practical_hours"
    r = platform.api.put("/v1/courses/sy", _course("收银员（初级）", offline_practical_hours=7.5))
    assert r.status_code == 422 and r.json()["error"]["code"] == "PRACTICAL_HOURS_PLAN"
    r = platform.api.put("/v1/courses/sy", _course("收银员（初级）", offline_practical_hours=8))
    assert r.status_code == 200 and r.json()["offline_practical_hours"] == 8, r.text
    # row 1 only: trained fully online, no offline hours needed
    r = platform.api.put("/v1/courses/sg", _course("社会工作者"))
    assert r.status_code == 200 and r.json()["offline_practical_hours"] == 0, r.text


def test_a_course_stored_before_annex_3_opens_no_class_takes_no_enrolment_earns_no_exam(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    platform.course()
    platform.learner("old")
    platform.enrol("old")  # class 2026-11-A of elec-101
    platform.learner("new")
    with unit_of_work(app_client.app.state.session_factory) as uow:  # type: ignore[attr-defined]
        # a course registered under the draft list: the occupation is not online-trainable
        course = uow.session.query(Course).filter_by(ext_id="elec-101").one()
        course.occupation = "电工"
    r = platform.api.put("/v1/classes/elec-101/B2", {"opens_on": "2026-11-20", "size": 20})
    assert r.status_code == 422 and r.json()["error"]["code"] == "OCCUPATION_NOT_ONLINE", r.text
    for batch in ("2026-11-A", "B3"):  # neither its open class nor a new one
        r = platform.api.put("/v1/enrolments/new/elec-101",
                             {"class_batch": batch, "start_date": "2026-11-01"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "OCCUPATION_NOT_ONLINE"
    assert platform.api.get("/v1/enrolments/new/elec-101").status_code == 404
    st = platform.api.get("/v1/enrolments/old/elec-101").json()
    assert st["exam_eligible"] is False
    assert "OCCUPATION_NOT_ONLINE" in {x["code"] for x in st["reasons"]}, st


def test_the_class_of_a_first_enrolment_is_held_to_the_class_hour_rules(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    platform.learner("s1")
    platform.course("short", lessons=2, duration_s=1800, class_hours=1.0)
    r = platform.api.put("/v1/enrolments/s1/short", ENROL)
    assert r.status_code == 422 and r.json()["error"]["code"] == "CLASS_HOUR_SHORT", r.text
    assert "L1, L2" in r.text and "40 minutes" in r.text
    platform.course("cert", lessons=10, certificate_only=True)
    r = platform.api.put("/v1/enrolments/s1/cert", ENROL)
    assert r.status_code == 422 and r.json()["error"]["code"] == "CERTIFICATE_ONLY_HOURS", r.text
    for course in ("short", "cert"):  # neither the enrolment nor its class is stored
        assert platform.api.get(f"/v1/enrolments/s1/{course}").status_code == 404
        assert platform.api.get(f"/v1/classes/{course}/B1/satisfaction").status_code == 404
    platform.course("cert40", lessons=40, certificate_only=True)
    r = platform.api.put("/v1/enrolments/s1/cert40", ENROL)
    assert r.status_code == 200, r.text
    assert platform.api.get("/v1/classes/cert40/B1/satisfaction").status_code == 200


def test_a_course_edited_below_the_rules_takes_no_new_enrolment_in_its_open_class(
        platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    platform.course(lessons=2)
    platform.learner("s1")
    platform.learner("s2")
    assert platform.api.put("/v1/enrolments/s1/elec-101", ENROL).status_code == 200
    platform.course(lessons=2, duration_s=1200)  # the course may be edited ...
    r = platform.api.put("/v1/enrolments/s2/elec-101", ENROL)  # ... but no one joins it now
    assert r.status_code == 422 and r.json()["error"]["code"] == "CLASS_HOUR_SHORT", r.text
    # the enrolled learner's own record is still updated (practical hours recorded)
    r = platform.api.put("/v1/enrolments/s1/elec-101", {**ENROL, "practical_hours": 8})
    assert r.status_code == 200 and r.json()["practical_hours"] == 8, r.text
    with unit_of_work(app_client.app.state.session_factory) as uow:  # type: ignore[attr-defined]
        course = uow.session.query(Course).filter_by(ext_id="elec-101").one()
        assert [x.duration_s for x in repo.lessons_of(uow.session, course.id)] == [1200, 1200]
        assert uow.session.query(Enrolment).filter_by(course_id=course.id).count() == 1
        assert uow.session.query(Lesson).filter_by(course_id=course.id).count() == 2
