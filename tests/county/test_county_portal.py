"""The county's portal pages: the case page shows the evidence, decisions feed standing, and
only the roles allowed see a person across institutions (issue 14)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from proctor.services.county.checks import check_day
from proctor.services.users import create_user
from proctor.simulation.county import (
    DAY,
    CountyWorld,
    Scenario,
    _daixue_room,
    _two_institutions,
    local,
    open_county_world,
)
from proctor.storage.db import unit_of_work
from proctor.storage.tables import CountyCase, Institution, Learner

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(database_url: str) -> Iterator[CountyWorld]:
    with open_county_world(database_url=database_url) as w:
        for play, name in ((_two_institutions, "two"), (_daixue_room, "room")):
            play(w, Scenario(name, False, (), ""))
        with unit_of_work(w.app.state.session_factory) as uow:
            check_day(uow, day=DAY, settings=w.settings, now=local(DAY + timedelta(days=1), 1))
            uow.session.add(Institution(name="尉氏县技工学校", county_code="410223"))
            uow.session.flush()
            users = {"reviewer": ("county_reviewer", ["410105"], None),
                     "reviewer2": ("county_reviewer", ["410223"], None),
                     "staff": ("institution_staff", [], w.names[0]),
                     "auditor": ("auditor", [], None), "admin": ("admin", [], None)}
            for username, (role, counties, inst) in users.items():
                create_user(uow, username=username, role=role, display_name=username,
                            county_codes=counties, institution=inst, password=PASSWORD)
        yield w


def _client(w: CountyWorld, username: str) -> TestClient:
    client = TestClient(w.app, follow_redirects=False)
    token = _csrf(client.get("/portal/login").text)
    r = client.post("/portal/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token, "next": ""})
    assert r.status_code == 303, r.text
    return client


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _case(w: CountyWorld, rule: str) -> CountyCase:
    with unit_of_work(w.app.state.session_factory) as uow:
        case = uow.session.scalar(select(CountyCase).where(CountyCase.rule == rule))
        assert case is not None
        return case


def _learner(w: CountyWorld, ext: str) -> Learner:
    with unit_of_work(w.app.state.session_factory) as uow:
        row = uow.session.scalar(select(Learner).where(Learner.ext_id == ext))
        assert row is not None
        return row


def test_the_case_page_shows_the_evidence_and_a_decision_feeds_standing(
        world: CountyWorld) -> None:
    case = _case(world, "PERSON_TWO_INSTITUTIONS")
    reviewer = _client(world, "reviewer")
    listing = reviewer.get("/portal/county/cases")
    assert listing.status_code == 200 and f'data-case="{case.id}"' in listing.text
    page = reviewer.get(f"/portal/county/cases/{case.id}")
    assert page.status_code == 200
    for sid in case.session_ids:  # every session of the evidence, with its institution
        assert f'data-evidence-session="{sid}"' in page.text
    assert world.names[0] in page.text and world.names[1] in page.text
    assert "overlap_s" in page.text  # the overlap figures themselves
    person = _learner(world, "two-a")
    assert person.id_number in page.text  # a county reviewer verifies identities: full ID

    # A decision needs a reason; shown again with the error.
    token = _csrf(page.text)
    r = reviewer.post(f"/portal/county/cases/{case.id}/decide",
                      data={"decision": "confirm", "reason": " ", "csrf_token": token})
    assert r.status_code == 422 and "理由" in r.text
    assert reviewer.post(f"/portal/county/cases/{case.id}/decide",
                         data={"decision": "confirm", "reason": "x", "csrf_token": "forged"}
                         ).status_code == 403
    before = world.platforms[0].get("/v1/enrolments/two-a/c-two-a").json()
    assert before["lessons"][0]["status"] != "invalid" or before["lessons"][0]["reasons"]
    r = reviewer.post(f"/portal/county/cases/{case.id}/decide",
                      data={"decision": "confirm", "reason": "两机构同时学习，本人承认",
                            "csrf_token": token})
    assert r.status_code == 303
    assert "已确认违规" in reviewer.get(f"/portal/county/cases/{case.id}").text
    # Confirmed: both institutions' sessions named by the case are invalid in standing.
    for api, ext, course in ((world.platforms[0], "two-a", "c-two-a"),
                             (world.platforms[1], "two-b", "c-two-b")):
        status = api.get(f"/v1/enrolments/{ext}/{course}").json()
        assert status["lessons"][0]["status"] == "invalid", status
        assert status["exam_eligible"] is False
    # Decided once: a second decision is refused.
    r = reviewer.post(f"/portal/county/cases/{case.id}/decide",
                      data={"decision": "dismiss", "reason": "改判", "csrf_token": token})
    assert r.status_code == 409
    # The institution's record counts it.
    inst_a = _learner(world, "two-a").institution_id
    drill = reviewer.get(f"/portal/county/risk/{inst_a}")
    assert drill.status_code == 200 and f"#{case.id}" in drill.text
    ranked = reviewer.get("/portal/county/risk")
    assert ranked.status_code == 200 and f'data-risk-row="{inst_a}"' in ranked.text


def test_roles_the_county_view_is_not_for_see_nothing(world: CountyWorld) -> None:
    case = _case(world, "IP_ROOM")
    learner = _learner(world, "room-0")
    urls = [f"/portal/county/cases/{case.id}", f"/portal/county/persons/{learner.id}"]
    staff = _client(world, "staff")  # staff of the very institution concerned
    for url in [*urls, "/portal/county/cases", "/portal/county/risk", "/portal/county/exams"]:
        assert staff.get(url).status_code == 404, url
    other = _client(world, "reviewer2")  # a reviewer of another county
    for url in urls:
        assert other.get(url).status_code == 404, url
    assert f'data-case="{case.id}"' not in other.get("/portal/county/cases").text
    auditor = _client(world, "auditor")
    page = auditor.get(f"/portal/county/cases/{case.id}")
    assert page.status_code == 200 and learner.id_number not in page.text
    assert "decide" not in page.text  # read-only
    person = auditor.get(f"/portal/county/persons/{learner.id}")
    assert person.status_code == 200 and learner.id_number not in person.text


def test_the_person_page_holds_every_institution(world: CountyWorld) -> None:
    learner = _learner(world, "two-b")
    page = _client(world, "reviewer").get(f"/portal/county/persons/{learner.id}")
    assert page.status_code == 200
    assert world.names[0] in page.text and world.names[1] in page.text
    assert "c-two-a 课程" in page.text and "c-two-b 课程" in page.text
    assert page.text.count('href="/portal/sessions/') >= 2


def test_a_reviewer_records_an_exam_in_the_portal(world: CountyWorld) -> None:
    reviewer = _client(world, "reviewer")
    page = reviewer.get("/portal/county/exams")
    person = _learner(world, "room-3")
    form = {"id_number": person.id_number, "institution": world.names[0], "course_id": "c-room",
            "exam_on": "2026-12-01", "result": "pass", "score": "88",
            "csrf_token": _csrf(page.text)}
    world.clock.t = local(date(2026, 12, 2), 10)
    r = reviewer.post("/portal/county/exams", data=form | {"exam_on": "2026-11-20"})
    assert r.status_code == 422 and "考核月份" in r.text  # November is no exam month
    assert reviewer.post("/portal/county/exams", data=form).status_code == 303
    listing = reviewer.get("/portal/county/exams").text
    assert listing.count("data-exam") == 1 and person.id_number in listing
    # The one-month rule now holds at another institution.
    api = world.platforms[2]
    r = api.put("/v1/courses/c-new", {"title": "新课程", "occupation": "物流信息员",
                                      "offline_practical_hours": 8, "required_class_hours": 1,
                                      "lessons": [{"id": "L1", "seq": 1, "duration_s": 2400,
                                                   "class_hours": 1}]})
    assert r.status_code == 200, r.text
    api.put("/v1/learners/new-3", {"real_name": "模拟学员", "id_number": person.id_number})
    r = api.put("/v1/enrolments/new-3/c-new", {"class_batch": "2026-12", "start_date": "2026-12-15"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_eligible"
    assert world.names[0] not in r.text
