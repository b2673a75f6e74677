"""A county reviewer's day in Chromium, on the demo: the queue with Chinese rule names and
search, the Chinese evidence of EACH rule on a session page (the demo's own cheats, plus one
session per rule the engine judged from the rule samples of tests/domain/test_rules.py, stored
through the real tables), the faces side by side, bulk 维持无效, 下一条; axe-core (vendored
from npm) finds no serious or critical accessibility violation on any page.
Screenshots in test-artifacts/screenshots/portal-review-*.png; with PROCTOR_DOCS_SCREENSHOTS=1
small copies of them are written to docs/screenshots/portal-*.png (linked from docs/portal.md)."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.domain.script import T0
from tests.domain.test_rules import CASES

from conftest import PASSWORD, World, serve_in_thread
from proctor.domain.engine import evaluate
from proctor.domain.policy import load_policy
from proctor.portal.labels import RULE_LABELS
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import Learner, Lesson, SessionVerdict, StudySession

pytestmark = pytest.mark.browser
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
ENGLISH = re.compile(r"\b(seek|rate|played|jump|challenge|photo|status|lesson)\b", re.I)


DOCS_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def live(world: World) -> Iterator[str]:
    yield from serve_in_thread(world.app)


def _one_session_per_rule(world: World) -> dict[str, str]:
    """{rule: a session of the 410105 cheat} whose verdict the engine made from the first rule
    sample that trips that rule, stored like evaluation stores it."""
    policy = load_policy("henan-2021")
    out = {}
    with unit_of_work(session_factory(engine_for(world.settings.database_url))) as uow:
        s = uow.session
        learner = s.get(Learner, world.learner["410105"])
        assert learner is not None
        lesson = s.scalar(select(Lesson).where(Lesson.course_id == world.course["410105"])
                          .order_by(Lesson.seq).limit(1))
        assert lesson is not None
        for rule in RULE_LABELS:
            build = next(b for _, b, expected in CASES
                         if any(e.startswith(rule + ".") for e in expected))
            verdict = evaluate(build(), policy)
            assert rule in verdict.rules_broken, rule
            sid = str(uuid.uuid4())
            started = datetime.fromtimestamp(T0, UTC)
            s.add(StudySession(id=sid, institution_id=learner.institution_id,
                               learner_id=learner.id, course_id=lesson.course_id,
                               lesson_id=lesson.id, client={}, status="closed",
                               started_at=started, ended_at=started + timedelta(hours=1)))
            s.flush()
            s.add(SessionVerdict(session_id=sid, status="invalid", engine_status="invalid",
                                 credited_seconds=0.0, result=verdict.to_dict(),
                                 rules=sorted(verdict.rules_broken), policy_id=policy.id,
                                 policy_version=policy.version, evaluated_at=started,
                                 reviewed=False))
            out[rule] = sid
    return out


def _docs_copy(path: Path, name: str) -> None:
    """A small copy for docs/screenshots (only when PROCTOR_DOCS_SCREENSHOTS=1: a test run
    must not rewrite tracked files)."""
    if os.environ.get("PROCTOR_DOCS_SCREENSHOTS") != "1":
        return
    from PIL import Image

    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.height > 2400:  # the top of a very long page is what a reader needs
            img = img.crop((0, 0, img.width, 2400))
        img.thumbnail((900, 2400))
        img.quantize(colors=128).save(DOCS_SHOTS / f"{name}.png", optimize=True)


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
    by_rule = _one_session_per_rule(world)

    def shot(name: str, *, full_page: bool = True) -> None:
        _docs_copy(screenshot(page, f"portal-review-{name}", full_page=full_page),
                   f"portal-{name}")

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    serious: dict[str, list[str]] = {}
    try:
        _sign_in(page, live, "reviewer")
        serious["dashboard"] = _axe_serious(page)
        shot("dashboard")

        page.goto(f"{live}/portal/queue")
        rows = page.locator("[data-queue-row]")
        assert rows.count() >= 1
        assert "待复核" in rows.first.inner_text()
        names_shown = page.locator(".rule-names").all_inner_texts()
        assert any(label in " ".join(names_shown) for label in RULE_LABELS.values())
        serious["queue"] = _axe_serious(page)
        shot("queue")

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
        shot("search")
        page.goto(f"{live}/portal/queue?q={id_number}")
        assert page.locator("[data-queue-row]").count() >= 1

        # the faces side by side: each snapshot beside the enrolment photo, score and threshold
        page.goto(f"{live}/portal/sessions/{world.flagged['410105']}")
        pairs = page.locator(".pairs figure")
        assert pairs.count() >= 1
        caption = pairs.first.locator("figcaption").inner_text()
        assert "阈值" in caption or "无比对值" in caption
        serious["session"] = _axe_serious(page)
        shot("session")
        page.locator("#h-photos").scroll_into_view_if_needed()
        shot("faces", full_page=False)

        # EACH rule's evidence reads in Chinese on its session page
        for rule, sid in by_rule.items():
            page.goto(f"{live}/portal/sessions/{sid}")
            cards = page.locator(f'article.violation[data-code^="{rule}."]')
            assert cards.count() >= 1, rule
            for k in range(cards.count()):
                text = cards.nth(k).locator(".summary").inner_text()
                assert re.search(r"[\u4e00-\u9fff]", text) and not ENGLISH.search(text), text
                assert not re.search(r"\d+\.\d{3,}|\d{9,}", text), text  # no raw floats, epochs
            assert RULE_LABELS[rule] in cards.first.inner_text()
            if rule == "FAST_FORWARD":
                shot("evidence", full_page=False)
        # ... and the demo's own flagged sessions, found through the queue's rule filter
        for rule in ("MULTI_WINDOW", "LESSON_ORDER"):
            page.goto(f"{live}/portal/queue?rule={rule}&sort=newest")
            page.locator("[data-queue-row] td.actions a").first.click()
            page.wait_for_url(f"{live}/portal/sessions/*")
            text = page.locator(f'article.violation[data-code^="{rule}."] .summary').first \
                .inner_text()
            assert re.search(r"[\u4e00-\u9fff]", text) and not ENGLISH.search(text), text

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
        shot("bulk-done")

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
        shot("institution")
        page.goto(f"{live}/portal/learners/{world.learner['410105']}")
        serious["learner"] = _axe_serious(page)
        shot("learner")
        page.get_by_role("button", name="退出").click()
        _sign_in(page, live, "admin")
        page.goto(f"{live}/portal/audit")
        assert page.get_by_text("复核：维持无效").first.is_visible()
        serious["audit"] = _axe_serious(page)
        shot("audit")
        page.goto(f"{live}/portal/dead-letters")
        serious["dead_letters"] = _axe_serious(page)
        shot("dead-letters")
        page.get_by_role("button", name="退出").click()
        serious["login"] = _axe_serious(page)
        shot("login")
        assert {k: v for k, v in serious.items() if v} == {}
        assert errors == []
    finally:
        context.close()
