"""Every page, export and photo filters by the user's scope; outside it, 404 (never 403)."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from conftest import World, csrf_of
from proctor.domain.ids import mask_id_number
from proctor.storage.db import engine_for, session_factory
from proctor.storage.tables import Learner

HOME, OTHER = "410105", "410223"


@pytest.fixture
def world(shared_world: World) -> World:
    """These tests only read: one data set per backend for the whole module."""
    return shared_world


def _urls(world: World, county: str) -> dict[str, str]:
    inst, course = world.inst[county], world.course[county]
    return {
        "session": f"/portal/sessions/{world.flagged[county]}",
        "learner": f"/portal/learners/{world.learner[county]}",
        "institution": f"/portal/institutions/{inst}",
        "photo": f"/portal/photos/{world.photo[county]}",
        "thumb": f"/portal/photos/{world.photo[county]}?thumb=1",
        "roster": f"/portal/exports/roster.xlsx?institution={inst}&course={course}",
        "roster_csv": f"/portal/exports/roster.csv?institution={inst}&course={course}",
        "course": f"/portal/institutions/{inst}?course={course}",
    }


# (role's user, counties it may see)
SEES = {"admin": {HOME, OTHER}, "auditor": {HOME, OTHER}, "reviewer": {HOME},
        "reviewer2": {OTHER}, "staff": {HOME}}


@pytest.mark.parametrize("username", sorted(SEES))
def test_each_role_sees_its_scope_and_nothing_else(world: World, username: str) -> None:
    client = world.client(username)
    for county in (HOME, OTHER):
        for name, url in _urls(world, county).items():
            r = client.get(url)
            expected = 200 if county in SEES[username] else 404
            assert r.status_code == expected, (username, county, name, r.status_code)
            if expected == 404 and name == "session":
                assert "不在您的管辖范围内" in r.text
    # guessed ids that exist nowhere answer exactly like ids outside the scope
    assert client.get("/portal/sessions/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/portal/learners/999999").status_code == 404
    assert client.get("/portal/institutions/999999").status_code == 404
    assert client.get("/portal/photos/nope").status_code == 404


@pytest.mark.parametrize("username", sorted(SEES))
def test_lists_and_exports_hold_only_the_scope(world: World, username: str) -> None:
    client = world.client(username)
    flagged = {c: world.flagged[c] for c in (HOME, OTHER)}
    if username != "staff":
        queue = client.get("/portal/queue").text
        dashboard = client.get("/portal/").text
        for county, sid in flagged.items():
            assert (sid in queue) == (county in SEES[username])
        names = {HOME: "金水区阳光职业培训学校", OTHER: "尉氏县家政服务培训学校"}
        for county, name in names.items():
            assert (name in dashboard) == (county in SEES[username])
    else:  # institution staff land on their institution
        r = client.get("/portal/")
        assert r.status_code == 303
        assert r.headers["location"] == f"/portal/institutions/{world.inst[HOME]}"
    text = client.get("/portal/exports/flagged.csv").content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    exported = {r["会话编号"] for r in rows}
    for county, sid in flagged.items():
        assert (sid in exported) == (county in SEES[username])


@pytest.mark.parametrize(("username", "dead_letters", "audit", "may_review"), [
    ("admin", 200, 200, True), ("auditor", 404, 200, False), ("reviewer", 404, 404, True),
    ("staff", 404, 404, False)])
def test_role_pages_and_review_rights(world: World, username: str, dead_letters: int,
                                      audit: int, may_review: bool) -> None:
    client = world.client(username)
    assert client.get("/portal/dead-letters").status_code == dead_letters
    assert client.get("/portal/audit").status_code == audit
    page = client.get(f"/portal/sessions/{world.flagged[HOME]}")
    assert ('name="decision"' in page.text) == may_review
    if not may_review:
        r = client.post(f"/portal/sessions/{world.flagged[HOME]}/review",
                        data={"decision": "confirm_invalid", "reason": "",
                              "csrf_token": csrf_of(page.text)})
        assert r.status_code == 403
    # a reviewer of the other county can't decide here either, even with a valid token: 404
    other = world.client("reviewer2")
    token = csrf_of(other.get("/portal/").text)
    r = other.post(f"/portal/sessions/{world.flagged[HOME]}/review",
                   data={"decision": "confirm_invalid", "reason": "", "csrf_token": token})
    assert r.status_code == 404


def _id_number(world: World, learner_id: int) -> str:
    with session_factory(engine_for(world.settings.database_url))() as s:
        learner = s.get(Learner, learner_id)
        assert learner is not None
        return learner.id_number


@pytest.mark.parametrize(("username", "full"), [("admin", True), ("reviewer", True),
                                                ("staff", False), ("auditor", False)])
def test_id_numbers_follow_one_rule_in_pages_and_exports(world: World, username: str,
                                                         full: bool) -> None:
    number = _id_number(world, world.learner[HOME])
    shown = number if full else mask_id_number(number)
    hidden = mask_id_number(number) if full else number
    client = world.client(username)
    page = client.get(f"/portal/learners/{world.learner[HOME]}").text
    assert shown in page
    assert hidden not in page
    assert ("已脱敏" in page) == (not full)
    session_page = client.get(f"/portal/sessions/{world.flagged[HOME]}").text
    assert shown in session_page
    assert hidden not in session_page
    xlsx = client.get(_urls(world, HOME)["roster"])
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    ids = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert shown in ids
    assert hidden not in ids
