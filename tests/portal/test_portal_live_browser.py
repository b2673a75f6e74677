"""The live portal in Chromium, on the test database: a county reviewer opens a flagged session,
sees its timeline, overturns it with a reason; the audit log shows it; the roster downloads as
XLSX; a reviewer of another county gets 404 on the same URL. Screenshots in
test-artifacts/screenshots/portal-live-*.png."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import PASSWORD, World, serve_in_thread

pytestmark = pytest.mark.browser
HOME = "410105"


@pytest.fixture
def live(world: World) -> Iterator[str]:
    yield from serve_in_thread(world.app)


def _sign_in(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/portal/")
    assert page.url.startswith(f"{url}/portal/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{url}/portal/**")
    assert "/login" not in page.url


def test_a_reviewer_overturns_a_flagged_session_and_others_get_404(browser, world: World, live: str,
                                                screenshot: Callable[..., Path],
                                                request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params.get("database_url", "db")
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        _sign_in(page, live, "reviewer")
        assert page.get_by_role("heading", name="概览").is_visible()
        screenshot(page, f"portal-live-dashboard-{backend}")

        page.goto(f"{live}/portal/queue?rule=MULTI_WINDOW")
        row = page.locator("tbody tr", has=page.locator(
            f'a[href="/portal/sessions/{world.flagged[HOME]}"]'))
        assert "多窗口学习" in row.inner_text()  # the rule's Chinese name, not its code
        row.get_by_role("link", name="复核").click()
        page.wait_for_url(f"{live}/portal/sessions/{world.flagged[HOME]}")
        timeline = page.locator("svg.timeline")
        assert timeline.is_visible()
        assert timeline.locator(".tl-violation").count() >= 1
        assert page.locator(".pairs figure img").count() >= 1
        screenshot(page, f"portal-live-session-{backend}")

        page.get_by_label("改判有效").check()
        page.get_by_role("textbox", name="理由").fill("学员使用双屏，页面隐藏时仍在观看，机构出具了说明")
        page.get_by_role("button", name="提交复核结论").click()
        page.wait_for_url("**?done=reviewed")
        assert page.get_by_text("复核结论已保存").is_visible()
        assert page.locator(".page-head .badge.valid").is_visible()
        screenshot(page, f"portal-live-reviewed-{backend}")

        page.goto(f"{live}/portal/institutions/{world.inst[HOME]}")
        with page.expect_download() as info:
            page.get_by_role("link", name="导出考试名单 Excel").click()
        data = Path(info.value.path()).read_bytes()
        sheet = load_workbook(io.BytesIO(data)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:2] == ("姓名", "身份证号")
        assert len(rows) == 3  # the header and two learners
        assert all(len(str(r[1])) == 18 and "*" not in str(r[1]) for r in rows[1:])
        assert {r[11] for r in rows[1:]} == {"可报考"}  # the overturn made the learner eligible
        screenshot(page, f"portal-live-institution-{backend}")

        page.get_by_role("button", name="退出").click()
        _sign_in(page, live, "auditor")
        page.goto(f"{live}/portal/audit")
        row = page.locator("tr", has_text="review.overturn")
        assert row.count() == 1
        assert "学员使用双屏" in row.inner_text()
        assert page.get_by_text("哈希链完整").is_visible()
        screenshot(page, f"portal-live-audit-{backend}")
        assert errors == []

        # a reviewer of another county: the same session URL is a 404, not a 403
        page.get_by_role("button", name="退出").click()
        _sign_in(page, live, "reviewer2")
        response = page.goto(f"{live}/portal/sessions/{world.flagged[HOME]}")
        assert response is not None
        assert response.status == 404
        assert page.get_by_text("不在您的管辖范围内").is_visible()
        screenshot(page, f"portal-live-404-{backend}")
    finally:
        context.close()

