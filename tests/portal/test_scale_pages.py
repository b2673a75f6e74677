"""The pages that must hold at county scale: the institution page (learner search, keyset pages,
counts from GROUP BY), the roster (standings read for many learners at once, the XLSX streamed)
and the dashboard (counted in the database) say what the one-by-one paths said."""

from __future__ import annotations

import io
import re
from collections import Counter
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from conftest import World
from proctor.portal import pages
from proctor.portal.templating import DISPLAY_TZ
from proctor.services.policies import policy_for
from proctor.services.standing import standing, standings
from proctor.storage.db import engine_for, session_factory
from proctor.storage.repositories import portal as repo
from proctor.storage.tables import Course, Enrolment, Learner

HOME = "410105"


@pytest.fixture
def world(shared_world: World) -> World:
    """These tests only read: one data set per backend for the whole module."""
    return shared_world


def _names(html: str) -> list[str]:
    return re.findall(r'<th scope="row"[^>]*><a href="/portal/learners/\d+">([^<]+)</a>', html)


def test_institution_page_searches_learners_and_pages_by_keyset(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = world.client("reviewer")
    base = f"/portal/institutions/{world.inst[HOME]}?course={world.course[HOME]}"
    everyone = _names(client.get(base).text)
    assert len(everyone) == 2
    assert "课时全部有效" in client.get(base).text

    found = _names(client.get(base + f"&q={everyone[1]}").text)
    assert found == [everyone[1]]
    assert "没有找到符合" in client.get(base + "&q=无此人").text

    monkeypatch.setattr(pages, "LEARNERS_PER_PAGE", 1)
    first = client.get(base).text
    assert _names(first) == everyone[:1] and "第 1/2 页" in first
    next_url = re.search(r'href="([^"]+)" rel="next"', first)
    assert next_url and "after=" in next_url.group(1)
    second = client.get(next_url.group(1).replace("&amp;", "&")).text
    assert _names(second) == everyone[1:] and "第 2/2 页" in second
    assert _names(client.get(base + "&page=999").text) == everyone[1:]  # the last page


def test_standings_read_together_equal_one_by_one(world: World) -> None:
    policy = policy_for(world.settings)
    today = datetime.now(DISPLAY_TZ).date()
    with session_factory(engine_for(world.settings.database_url))() as s:
        course = s.get(Course, world.course[HOME])
        assert course is not None
        learners = [(x, e) for x, e in s.execute(
            select(Learner, Enrolment).join(Enrolment, Enrolment.learner_id == Learner.id)
            .where(Enrolment.course_id == course.id).order_by(Learner.id))]
        together = standings(s, course=course, learners=learners, policy=policy,
                             settings=world.settings, today=today)
        for (learner, _), st in zip(learners, together, strict=True):
            alone = standing(s, learner=learner, course=course, policy=policy,
                             settings=world.settings, today=today)
            assert [x.state for x in st.lessons] == [x.state for x in alone.lessons]
            assert st.eligibility == alone.eligibility
        assert any(x.state.value == "invalid" for st in together for x in st.lessons)


def test_roster_xlsx_is_streamed_with_every_learner(world: World) -> None:
    r = world.client("reviewer").get(
        f"/portal/exports/roster.xlsx?institution={world.inst[HOME]}&course={world.course[HOME]}")
    assert r.status_code == 200 and int(r.headers["content-length"]) == len(r.content)
    sheet = load_workbook(io.BytesIO(r.content))["考试名单"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "姓名" and len(rows) == 3
    assert {row[11] for row in rows[1:]} <= {"可报考", "暂不可报考"}
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:N3"
    csv_text = world.client("reviewer").get(
        f"/portal/exports/roster.csv?institution={world.inst[HOME]}&course={world.course[HOME]}"
    ).content.decode("utf-8-sig")
    assert csv_text.count("\r\n") == 3


def test_dashboard_counts_in_the_database_match_counting_each_session(world: World) -> None:
    with session_factory(engine_for(world.settings.database_url))() as s:
        since = datetime.now(DISPLAY_TZ).replace(hour=0, minute=0, second=0,
                                                 microsecond=0) - timedelta(days=29)
        bounds = [since + timedelta(days=d) for d in range(31)]
        grouped = repo.dashboard_counts(s, _all, bounds)
        facts = repo.session_facts(s, _all, since)
        assert sum(n for *_, n in grouped) == len(facts) > 0
        by_status: Counter[str] = Counter()
        for _, _, status, _, _, n in grouped:
            by_status[status] += n
        assert by_status == Counter(status or "pending" for _, _, status, _, _ in facts)
        flagged = sum(n for _, _, _, f, _, n in grouped if f)
        assert flagged == sum(1 for f in facts if f[3] == "invalid") > 0
        for r in ("MULTI_WINDOW", "LESSON_ORDER"):
            grouped_n = sum(n for _, _, _, f, rules, n in grouped if f and r in rules)
            assert grouped_n == sum(1 for f in facts if f[3] == "invalid" and r in (f[4] or []))
        per_inst: Counter[int] = Counter()
        for inst, *_, n in grouped:
            per_inst[inst] += n
        assert per_inst == Counter(f[0] for f in facts)


def _all(_column: object) -> object:
    from sqlalchemy import true

    return true()
