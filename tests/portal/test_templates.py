"""The templates render their documented contexts, escape platform text, keep forms safe."""

from __future__ import annotations

from html.parser import HTMLParser

import jinja2
import pytest
import samples

from proctor.portal.templating import PORTAL_ROUTES, format_hours, make_environment, render


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return make_environment()


class Forms(HTMLParser):
    """Collects each <form> with its method and the names of its inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.controls: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "form":
            self.forms.append({"method": (a.get("method") or "get").lower(), "inputs": []})
        if tag in ("input", "textarea", "select") and self.forms:
            self.forms[-1]["inputs"].append(a.get("name"))
        if tag in ("textarea", "select") or (
            tag == "input" and a.get("type") not in ("hidden", "radio", "submit")
        ):
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.label_for.add(a["for"])


def parse(html: str) -> Forms:
    parser = Forms()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("name", sorted(samples.PAGES))
def test_every_page_renders_its_documented_context(env: jinja2.Environment, name: str) -> None:
    html = render(env, name, samples.PAGES[name]())
    assert html.lstrip().startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in html
    page = parse(html)
    for form in page.forms:
        if form["method"] == "post":
            assert "csrf_token" in form["inputs"], f"{name}: a POST form without CSRF token"
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, f"{name}: duplicate ids {duplicates}"
    for control in page.controls:  # every visible form control has a <label for=...>
        assert control.get("id") in page.label_for, f"{name}: unlabeled control {control}"


def test_a_missing_context_variable_fails_loudly(env: jinja2.Environment) -> None:
    context = samples.session_context()
    del context["verdict"]
    with pytest.raises(jinja2.UndefinedError):
        render(env, "session.html", context)


def test_platform_text_is_escaped(env: jinja2.Environment) -> None:
    context = samples.queue_context()
    context["rows"][0]["learner_name"] = '<script>alert("x")</script>'
    html = render(env, "queue.html", context)
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def test_session_page_holds_timeline_verdict_photos_and_review(env: jinja2.Environment) -> None:
    html = render(env, "session.html", samples.session_context())
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="group" class="timeline"' in html
    assert html.count('class="violation"') == 3  # one card per kind of violation
    assert "26 次照片比对未通过，首次 10:25:30" in html and "另 16 处同类记录" in html
    assert 'id="ev-FACE_LIVENESS"' in html and 'href="#ev-' in html  # bands link to evidence
    assert "比对距离 0.71（阈值 0.60，&gt; 阈值，非本人）" in html
    assert "人脸比对一致" in html
    assert "非本人" in html
    assert 'action="/portal/sessions/S100/review"' in html
    assert 'value="confirm_invalid"' in html
    assert 'value="overturn"' in html
    assert 'data-needs-reason="true"' in html


def test_review_form_modes(env: jinja2.Environment) -> None:
    closed = render(env, "session.html", samples.session_context(mode=None))
    assert "data-review-form" not in closed
    assert "该会话判定有效，无需复核。" in closed
    second = render(env, "session.html", samples.session_context(mode="second"))
    assert 'value="approve_overturn"' in second
    assert 'value="reject_overturn"' in second
    assert "学员提供了网络故障证明" in second  # the first decision is shown
    failed = render(env, "session.html", samples.session_context(form_error="改判必须填写理由"))
    assert 'role="alert" id="review-error">改判必须填写理由' in failed
    assert 'aria-invalid="true"' in failed


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        ("county_reviewer", ["复核队列", "概览"], ["回调失败", "审计日志", "本机构学员"]),
        ("admin", ["复核队列", "回调失败", "审计日志"], ["本机构学员"]),
        ("auditor", ["审计日志", "概览"], ["回调失败"]),
        ("institution_staff", ["本机构学员"], ["复核队列", "回调失败", "审计日志"]),
    ],
)
def test_navigation_follows_the_role(
    env: jinja2.Environment, role: str, shown: list[str], hidden: list[str]
) -> None:
    context = samples.learner_context()
    context["user"] = samples.USER_REVIEWER | {"role": role}
    context["nav_institution_id"] = "I4" if role == "institution_staff" else None
    nav = render(env, "learner.html", context).split('<nav class="main-nav"')[1].split("</nav>")[0]
    for text in shown:
        assert text in nav
    for text in hidden:
        assert text not in nav


def test_dashboard_charts_are_inline_svg(env: jinja2.Environment) -> None:
    html = render(env, "dashboard.html", samples.dashboard_context())
    assert html.count("<svg viewBox=") == 3
    assert "快进播放：41次/1719" in html
    assert "http" not in html.replace("http://www.w3.org", "")  # nothing from a CDN


def test_audit_page_reports_a_broken_chain(env: jinja2.Environment) -> None:
    ok = render(env, "audit.html", samples.audit_context())
    assert "哈希链完整" in ok
    broken = render(env, "audit.html", samples.audit_context(broken_seq=3))
    assert "哈希链在第 3 条处断开" in broken
    assert "<dt>理由</dt><dd>网络故障证明</dd>" in broken  # payload in Chinese, not raw JSON
    assert "\\u" not in broken


def test_institution_page_links_exports(env: jinja2.Environment) -> None:
    html = render(env, "institution.html", samples.institution_context())
    assert "/portal/exports/roster.xlsx?institution=I4&amp;course=C1" in html
    assert "/portal/exports/roster.csv?institution=I4&amp;course=C1" in html
    assert "2025年4月" in html


def test_portal_path_and_base_path() -> None:
    env = make_environment(base_path="/review/")
    portal_path = env.globals["portal_path"]
    assert portal_path() == "/review/"
    assert portal_path("sessions", "a/b c") == "/review/sessions/a%2Fb%20c"
    assert portal_path("queue", rule="FAST_FORWARD", county="") == "/review/queue?rule=FAST_FORWARD"
    assert set(PORTAL_ROUTES) >= {"session", "review", "exports", "dead_letter_retry", "audit"}


@pytest.mark.parametrize(
    ("value", "text"), [(10, "10"), (10.5, "10.5"), (0.1 + 0.2, "0.3"), (None, "—")]
)
def test_format_hours(value: float | None, text: str) -> None:
    assert format_hours(value) == text
