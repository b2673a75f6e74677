"""A county reviewer's day in Chromium, on the demo: the queue with Chinese rule names and
search, each rule's evidence in Chinese, the faces side by side, bulk 维持无效, 下一条; axe-core
(vendored from npm) finds no serious or critical accessibility violation on any page.
Screenshots in test-artifacts/screenshots/portal-review-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import PASSWORD, World, serve_in_thread
from proctor.portal.labels import RULE_LABELS
from proctor.storage.db import engine_for, session_factory
from proctor.storage.tables import Learner

pytestmark = pytest.mark.browser
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
ENGLISH = re.compile(r"\b(seek|rate|played|jump|challenge|photo|status|lesson)\b", re.I)


@pytest.fixture
def live(world: World) -> Iterator[str]:
    yield from serve_in_thread(world.app)


def _sign_in(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/portal/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{url}/portal/**")


def _axe_serious(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.evaluate(AXE)
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']}))"
                           ".violations.filter(v => v.impact === 'serious' || "
                           "v.impact === 'critical').map(v => v.id + ': ' + v.nodes.length + "
                           "' ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))")
    return list(result)


def test_a_reviewer_reads_chinese_evidence_faces_searches_and_bulk_reviews(
        browser, world: World, live: str, screenshot: Callable[..., Path]) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", bypass_csp=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    serious: dict[str, list[str]] = {}
    try:
        _sign_in(page, live, "reviewer")
        serious["dashboard"] = _axe_serious(page)
        screenshot(page, "portal-review-dashboard")

        page.goto(f"{live}/portal/queue")
        rows = page.locator("[data-queue-row]")
        assert rows.count() >= 1
        assert "待复核" in rows.first.inner_text()
        names_shown = page.locator(".rule-names").all_inner_texts()
        assert any(label in " ".join(names_shown) for label in RULE_LABELS.values())
        serious["queue"] = _axe_serious(page)
        screenshot(page, "portal-review-queue")

        # search by name, then by the full ID number (shown masked or whole per role)
        with session_factory(engine_for(world.settings.database_url))() as s:
            learner = s.scalar(select(Learner).where(Learner.id == world.learner["410105"]))
            assert learner is not None
            name, id_number = learner.real_name, learner.id_number
        page.keyboard.press("/")
        page.get_by_label("搜索（按 / 键）").fill(name)
        page.get_by_role("button", name="筛选").click()
        page.wait_for_url("**q=*")
        assert all(name in r for r in page.locator("[data-queue-row]").all_inner_texts())
        screenshot(page, "portal-review-search")
        page.goto(f"{live}/portal/queue?q={id_number}")
        assert page.locator("[data-queue-row]").count() >= 1

        # each rule's evidence reads in Chinese
        seen_rules = 0
        for rule in RULE_LABELS:
            page.goto(f"{live}/portal/queue?rule={rule}")
            link = page.locator("[data-queue-row] td.actions a").first
            if link.count() == 0:
                continue
            link.click()
            page.wait_for_url(f"{live}/portal/sessions/*")
            cards = page.locator(f'article.violation[data-code^="{rule}."]')
            assert cards.count() >= 1, rule
            text = cards.first.locator(".summary").inner_text()
            assert re.search(r"[\u4e00-\u9fff]", text) and not ENGLISH.search(text), text
            assert RULE_LABELS[rule] in cards.first.inner_text()
            seen_rules += 1
            if seen_rules == 1:
                # faces side by side: the snapshot with its score and threshold, in Chinese
                pairs = page.locator(".pairs figure")
                assert pairs.count() >= 1
                caption = pairs.first.locator("figcaption").inner_text()
                assert "阈值" in caption or "无比对值" in caption
                serious["session"] = _axe_serious(page)
                page.locator("#h-photos").scroll_into_view_if_needed()
                screenshot(page, "portal-review-session")
                screenshot(page, "portal-review-faces", full_page=False)
        assert seen_rules >= 2

        # bulk 维持无效 with one reason
        page.goto(f"{live}/portal/queue?status=awaiting")
        boxes = page.locator("input[name=session_ids]")
        ticked = min(2, boxes.count())
        assert ticked >= 1
        for i in range(ticked):
            boxes.nth(i).check()
        page.get_by_label(re.compile("批量维持无效")).fill("证据确凿，维持无效")
        page.once("dialog", lambda d: d.accept())
        page.get_by_role("button", name="维持无效").click()
        page.wait_for_url("**done=bulk_reviewed*")
        assert page.get_by_text(f"已批量维持无效 {ticked} 条").is_visible()
        screenshot(page, "portal-review-bulk-done")

        # 下一条 from a session page
        page.goto(f"{live}/portal/queue?status=awaiting")
        first = page.locator("[data-queue-row] td.actions a").first
        if first.count():
            first.click()
            page.wait_for_url(f"{live}/portal/sessions/*")
            nxt = page.locator("[data-next-session]")
            if nxt.count():
                here = page.url
                page.keyboard.press("n")
                page.wait_for_url(lambda u: u != here)

        # the other pages, for axe and the screenshots
        page.goto(f"{live}/portal/institutions/{world.inst['410105']}")
        serious["institution"] = _axe_serious(page)
        screenshot(page, "portal-review-institution")
        page.goto(f"{live}/portal/learners/{world.learner['410105']}")
        serious["learner"] = _axe_serious(page)
        screenshot(page, "portal-review-learner")
        page.get_by_role("button", name="退出").click()
        _sign_in(page, live, "admin")
        page.goto(f"{live}/portal/audit")
        assert page.get_by_text("复核：维持无效").first.is_visible()
        serious["audit"] = _axe_serious(page)
        screenshot(page, "portal-review-audit")
        page.goto(f"{live}/portal/dead-letters")
        serious["dead_letters"] = _axe_serious(page)
        screenshot(page, "portal-review-dead-letters")
        page.get_by_role("button", name="退出").click()
        serious["login"] = _axe_serious(page)
        screenshot(page, "portal-review-login")
        assert {k: v for k, v in serious.items() if v} == {}
        assert errors == []
    finally:
        context.close()
