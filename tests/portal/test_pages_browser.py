"""The templates in a real browser: they render, lay out and behave (sample data, no DB)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import samples

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("name", sorted(samples.PAGES))
def test_page_renders_without_console_errors(
    page, preview_url: str, screenshot: Callable[..., Path], name: str
) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    response = page.goto(f"{preview_url}/preview/{name}")
    assert response is not None
    assert response.status == 200
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    # the stylesheet arrived and applied (the page background is the portal's grey)
    background = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(243, 245, 248)"
    path = screenshot(page, f"page-{name.removesuffix('.html')}")
    assert path.stat().st_size > 10_000
    assert errors == []


def test_session_page_shows_the_timeline(
    page, preview_url: str, screenshot: Callable[..., Path]
) -> None:
    page.goto(f"{preview_url}/preview/session.html")
    svg = page.locator("svg.timeline")
    assert svg.get_attribute("role") == "group"  # it holds links (bands lead to their evidence)
    box = svg.bounding_box()
    assert box is not None
    assert box["width"] > 600  # laid out across the main column
    assert svg.locator(".tl-violation").count() == 4
    assert svg.locator(".tl-speed").count() >= 1
    assert svg.locator(".tl-seek").count() == 2
    svg.scroll_into_view_if_needed()
    svg.screenshot(path=str(screenshot(page, "session-full").parent / "session-timeline.png"))


def test_review_form_requires_a_reason_to_overturn(page, preview_url: str) -> None:
    page.goto(f"{preview_url}/preview/session.html")
    reason = page.locator("textarea[name=reason]")
    page.get_by_label("维持无效").check()
    assert reason.evaluate("el => el.required") is False
    page.get_by_label("改判有效").check()
    assert reason.evaluate("el => el.required") is True
    assert page.locator("[data-reason-flag]").inner_text() == "（必填）"
    # submitting without a reason is stopped in the page: the URL stays the same
    url = page.url
    page.get_by_role("button", name="提交复核结论").click()
    assert page.url == url
    assert reason.evaluate("el => el.validity.valueMissing") is True
    assert reason.get_attribute("aria-invalid") == "true"
    reason.fill("学员提供了断网证明")
    assert reason.evaluate("el => el.validity.valid") is True


def test_pages_fit_a_phone(browser, preview_url: str, screenshot: Callable[..., Path]) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    phone = context.new_page()
    try:
        for name in ("session.html", "queue.html", "dashboard.html"):
            phone.goto(f"{preview_url}/preview/{name}")
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways on a phone"
            screenshot(phone, f"phone-{name.removesuffix('.html')}")
    finally:
        context.close()
