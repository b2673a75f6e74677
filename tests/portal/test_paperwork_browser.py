"""The paperwork pages in a real browser: a county reviewer generates the monthly report (its
charts drawn), ends a rectification period, records a leave; others see none of it."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import PASSWORD, World, csrf_of, serve_in_thread
from proctor.storage.db import engine_for, session_factory, unit_of_work, utcnow
from proctor.storage.tables import AuditEntry, Course, Leave, Lesson, Rectification

pytestmark = pytest.mark.browser
HOME = "410105"


@pytest.fixture
def live(world: World) -> Iterator[str]:
    yield from serve_in_thread(world.app)


def _sign_in(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/portal/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{url}/portal/**")


def test_reviewer_generates_the_monthly_report_and_ends_a_rectification(
        browser, world: World, live: str, screenshot: Callable[..., Path]) -> None:  # type: ignore[no-untyped-def]
    factory = session_factory(engine_for(world.settings.database_url))
    now = utcnow()
    with unit_of_work(factory) as uow:
        uow.session.add(Rectification(institution_id=world.inst[HOME], rate=0.8, started_at=now,
                                      ends_on=(now + timedelta(days=30)).date()))
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    _sign_in(page, live, "reviewer")
    page.get_by_role("link", name="报表").click()
    page.get_by_role("button", name="生成").click()
    page.wait_for_url(f"{live}/portal/paperwork/reports?id=*")
    assert page.locator("svg[role=img]").count() >= 2
    assert page.get_by_label("被标记会话（按规则）").first.is_visible()
    screenshot(page, "paperwork-report")
    with page.expect_download() as dl:
        page.get_by_role("link", name="下载 XLSX").click()
    wb = load_workbook(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert len(wb["按机构"]._charts) == 2  # noqa: SLF001

    page.get_by_role("link", name="公示与整改").click()
    assert page.get_by_text("整改中，禁止开班").is_visible()
    page.get_by_placeholder("整改情况说明").fill("已完成整改")
    page.get_by_role("button", name="结束整改").click()
    page.wait_for_url("**/portal/paperwork?done=rectification")
    assert page.get_by_text("已结束").first.is_visible()
    screenshot(page, "paperwork-overview")
    context.close()
    with unit_of_work(factory) as uow:
        actions = {e.action for e in uow.session.query(AuditEntry)}
    assert "rectification.ended" in actions


def test_leave_from_the_portal_and_scope(world: World) -> None:
    factory = session_factory(engine_for(world.settings.database_url))
    with unit_of_work(factory) as uow:
        course = uow.session.get(Course, world.course[HOME])
        assert course is not None
        lesson = uow.session.query(Lesson).filter_by(course_id=course.id, seq=2).one()
        course_ext, lesson_ext = course.ext_id, lesson.ext_id
    form = {"learner": str(world.learner[HOME]), "course": course_ext, "lesson": lesson_ext,
            "reason": "病假（书面请假单）"}
    other = world.client("reviewer2")  # another county: the learner is not theirs
    token = csrf_of(other.get("/portal/paperwork").text)
    assert other.post("/portal/paperwork/leaves", data={**form, "csrf_token": token}
                      ).status_code == 404
    me = world.client("reviewer")
    token = csrf_of(me.get("/portal/paperwork").text)
    r = me.post("/portal/paperwork/leaves", data={**form, "csrf_token": token})
    assert r.status_code == 303 and "done=leave" in r.headers["location"]
    with unit_of_work(factory) as uow:
        [leave] = uow.session.query(Leave).all()
        assert leave.reason == "病假（书面请假单）" and leave.recorded_by.startswith("user:")
    assert world.client("staff").get("/portal/paperwork/reports").status_code == 404
