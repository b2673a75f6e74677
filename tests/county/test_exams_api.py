"""Exams recorded by the county; the one-month rule across two institutions (issue 14, item 2)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.county.conftest import Assessor, register
from tests.factories import Platform, issue_key, resident_id


def test_a_recorded_exam_at_one_institution_refuses_a_new_class_at_another(
        inst_a: Platform, inst_b: Platform, assessor: Assessor, clock: list) -> None:
    person = resident_id(seq=401)
    register(inst_a, "a-1", person, "elec-101", "2026-06-01")
    r = assessor.exam(id_number=person, institution=inst_a.institution, course_id="elec-101",
                      exam_on="2026-08-20", result="pass", score=82)
    assert r.status_code == 201, r.text
    assert r.json()["no_new_subsidised_class_before"] == "2026-09-20"
    assert r.json()["id_number_masked"] != person

    refused = register(inst_b, "b-7", person, "weld-201", "2026-09-01", expect=409)
    body = refused.json()["error"]
    assert body["code"] == "not_eligible" and body["field"] == "start_date"
    assert "2026-08-20" in body["message"] and "2026-09-20" in body["message"]
    assert "TRAINING_TOO_SOON_AFTER_EXAM" in body["message"]
    # The refusal names no other institution: a platform learns only about its own learner.
    assert inst_a.institution not in refused.text
    # Nothing half-written: the refused enrolment does not exist.
    assert inst_b.api.get("/v1/enrolments/b-7/weld-201").status_code == 404

    # A month after the exam the class may start.
    r = inst_b.api.put("/v1/enrolments/b-7/weld-201",
                       {"class_batch": "2026-B", "start_date": "2026-09-20"})
    assert r.status_code == 200, r.text


def test_the_rule_reads_county_records_not_the_platforms_word(
        inst_a: Platform, inst_b: Platform, assessor: Assessor, clock: list) -> None:
    person = resident_id(seq=402)
    register(inst_a, "a-2", person, "elec-101", "2026-06-01")
    # Institution B enrolled the person before the exam was recorded, and says nothing of it.
    register(inst_b, "b-2", person, "weld-201", "2026-09-05")
    status = inst_b.api.get("/v1/enrolments/b-2/weld-201").json()
    assert "TRAINING_TOO_SOON_AFTER_EXAM" not in {x["code"] for x in status["reasons"]}

    assert assessor.exam(id_number=person, institution=inst_a.institution, course_id="elec-101",
                         exam_on="2026-08-28", result="fail").status_code == 201
    status = inst_b.api.get("/v1/enrolments/b-2/weld-201").json()
    assert status["exam_eligible"] is False
    reason = next(x for x in status["reasons"] if x["code"] == "TRAINING_TOO_SOON_AFTER_EXAM")
    assert "2026-08-28" in reason["message_en"]
    # An absence is no sitting: recorded as absent, the exam does not start the month.
    person2 = resident_id(seq=403)
    register(inst_a, "a-3", person2, "elec-101", "2026-06-01")
    assert assessor.exam(id_number=person2, institution=inst_a.institution,
                         course_id="elec-101", exam_on="2026-08-28",
                         result="absent").status_code == 201
    register(inst_b, "b-3", person2, "weld-201", "2026-09-01")


def test_bad_exam_records_are_refused_naming_the_field(
        inst_a: Platform, assessor: Assessor, clock: list) -> None:
    person = resident_id(seq=404)
    register(inst_a, "a-4", person, "elec-101", "2026-06-01")
    base = {"id_number": person, "institution": inst_a.institution, "course_id": "elec-101",
            "exam_on": "2026-08-20", "result": "pass"}
    cases = [({"exam_on": "2026-06-15"}, 422, "exam_on"),   # not an exam month
             ({"exam_on": "2026-12-04"}, 422, "exam_on"),   # in the future (now: 2026-09-10)
             ({"result": "passed"}, 422, "result"),
             ({"id_number": person[:-1] + ("0" if person[-1] != "0" else "1")}, 422, "id_number"),
             ({"institution": "不存在的学校"}, 404, "institution"),
             ({"course_id": "nope"}, 404, "course_id"),
             ({"id_number": resident_id(seq=405)}, 404, "id_number")]
    for change, status, field in cases:
        r = assessor.exam(**(base | change))
        assert r.status_code == status, (change, r.text)
        assert field in r.text, (change, r.text)
    first = assessor.exam(**base)
    again = assessor.exam(**(base | {"result": "fail"}))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["exam_id"] == first.json()["exam_id"] and again.json()["result"] == "fail"


def test_only_assessor_keys_of_the_county_record_exams(
        settings, app_client: TestClient, inst_a: Platform, assessor: Assessor,
        clock: list) -> None:
    person = resident_id(seq=406)
    register(inst_a, "a-5", person, "elec-101", "2026-06-01")
    body = {"id_number": person, "institution": inst_a.institution, "course_id": "elec-101",
            "exam_on": "2026-08-20", "result": "pass"}
    # A platform key is no assessor key.
    r = inst_a.api.post("/v1/county/exams", body)
    assert r.status_code == 401 and "Assessor" in r.text
    # An assessor of another county does not find this county's institution.
    from proctor.client import ProctorClient
    from proctor.services.county.exams import issue_assessor_key
    from proctor.storage.db import engine_for, session_factory, unit_of_work

    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        other = issue_assessor_key(uow, name="尉氏县鉴定所", county_code="410223")
    api = ProctorClient(key_id=other.key_id, secret=other.secret, http=app_client)
    r = api.post("/v1/county/exams", body, headers={"X-Proctor-Assessor-Key": other.key_id})
    assert r.status_code == 404 and "institution" in r.text
    # A bad signature stores nothing.
    api = ProctorClient(key_id=assessor.api.key_id, secret="whsec_" + "A" * 44, http=app_client)
    r = api.post("/v1/county/exams", body, headers={"X-Proctor-Assessor-Key": assessor.api.key_id})
    assert r.status_code == 401
    assert assessor.exam(**body).status_code == 201  # the first stored record


def test_a_platform_key_sees_nothing_of_another_institutions_learner(
        settings, app_client: TestClient, inst_a: Platform, inst_b: Platform) -> None:
    person = resident_id(seq=407)
    register(inst_a, "a-6", person, "elec-101", "2026-06-01")
    register(inst_b, "b-6", person, "weld-201", "2026-06-01")
    for path in ("/v1/learners/a-6", "/v1/enrolments/a-6/elec-101", "/v1/courses/elec-101"):
        assert inst_b.api.get(path).status_code == 404, path
    mine = inst_b.api.get("/v1/learners/b-6").json()
    assert set(mine) == {"id", "real_name", "id_number_masked", "phone_masked"}
    assert person not in str(mine)
    third = issue_key(settings, app_client, "开封市尉氏县技工学校", "410223")
    assert third.api.get("/v1/learners/a-6").status_code == 404
