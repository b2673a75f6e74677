"""Subsidy roster notice (公示): Chinese working days across National Day 2026, the public page
without login (masked), objections, the review deadline, the audit log."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from proctor.domain.workdays import notice_period, nth_workday, working_days_between
from proctor.services import audit_log, notices
from proctor.storage.db import unit_of_work
from proctor.storage.tables import AuditEntry
from tests.api.sitting import Sitting, install_clock
from tests.factories import Platform
from tests.paperwork.conftest import ARTIFACTS

DURATION = 600.0


def test_working_days_skip_national_day_and_count_the_make_up_saturday() -> None:
    w = notices.is_workday
    # 2026: 1-7 October off (National Day), Saturday 10 October a make-up working day
    assert not w(date(2026, 10, 1)) and not w(date(2026, 10, 7)) and w(date(2026, 10, 10))
    p = notice_period(date(2026, 9, 30), notice_days=3, review_days=10, is_workday=w)
    assert (p.starts_on, p.ends_on) == (date(2026, 9, 30), date(2026, 10, 9))
    assert p.review_due_on == date(2026, 10, 22)  # 10 Oct (Sat, 调休) counts; 11 Oct does not
    assert working_days_between(date(2026, 9, 30), date(2026, 10, 9), w) == 3
    # published on a holiday: the notice starts on the first working day after it
    p = notice_period(date(2026, 10, 3), notice_days=3, review_days=10, is_workday=w)
    assert (p.starts_on, p.ends_on) == (date(2026, 10, 8), date(2026, 10, 10))
    # plain weekdays would have said 2 October and 15 October: the holidays matter
    weekdays = notice_period(date(2026, 9, 30), notice_days=3, review_days=10,
                             is_workday=lambda d: d.weekday() < 5)
    assert weekdays.ends_on == date(2026, 10, 2)
    with pytest.raises(ValueError, match="at least 1"):
        nth_workday(date(2026, 1, 5), 0, w)


def test_notice_published_before_national_day_public_page_objection_review(
        platform: Platform, app_client: TestClient) -> None:
    clock = install_clock(app_client, datetime(2026, 9, 30, 1, 0, tzinfo=UTC))
    platform.course(lessons=1, duration_s=DURATION, class_hours=0.25)
    for lid, name in (("stu-1", "张伟"), ("stu-2", "欧阳明强")):
        platform.learner(lid, name=name)
        r = platform.api.put(f"/v1/enrolments/{lid}/elec-101", {
            "class_batch": "B1", "start_date": "2026-09-01", "practical_hours": 8})
        assert r.status_code == 200, r.text
    s = Sitting.open(platform, app_client, clock, learner_id="stu-1")
    s.start()
    s.finish(DURATION)  # stu-2 never studies: not on the roster

    r = platform.api.post("/v1/classes/elec-101/B1/notice", {})
    assert r.status_code == 201, r.text
    n = r.json()
    assert (n["starts_on"], n["ends_on"], n["review_due_on"]) == (
        "2026-09-30", "2026-10-09", "2026-10-22")
    assert n["learners"] == 1 and n["status"] == "in_notice"
    path = n["url"].split("8000", 1)[1]

    page = app_client.get(path)  # no login, no signature
    assert page.status_code == 200
    assert "张*" in page.text and "张伟" not in page.text and "欧阳" not in page.text
    assert "********" in page.text and "2026-10-09" in page.text
    xlsx = app_client.get(path + "/roster.xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None and ws["B5"].value == "张*" and "*" in str(ws["C5"].value)

    r = app_client.post(path + "/objections", data={"text": "张*未参加线下实操", "contact": "138"},
                        follow_redirects=False)
    assert r.status_code == 303
    assert app_client.post(path + "/objections", data={"text": "  "}).status_code == 422
    if shutil.which("chromium"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        html = ARTIFACTS / "public-notice.html"
        html.write_text(app_client.get(path + "?done=1").text, encoding="utf-8")
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu",
                        f"--screenshot={ARTIFACTS / 'public-notice.png'}",
                        "--window-size=1000,800", html.as_uri()], check=True,
                       capture_output=True, timeout=120)
        html.unlink()

    app = app_client.app
    factory = app.state.session_factory  # type: ignore[attr-defined]
    with unit_of_work(factory) as uow:
        notice = notices.by_token(uow.session, path.rsplit("/", 1)[1])
        [objection] = notices.objections(uow.session, notice.id)
        with pytest.raises(Exception, match="runs until 2026-10-09"):
            notices.mark_reviewed(uow, notice_id=notice.id, actor="user:1 审核员", now=clock.now)
    clock.now = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # after the notice ended
    r = app_client.post(path + "/objections", data={"text": "迟到的异议"})
    assert r.status_code == 409 and "2026-10-09" in r.text
    with unit_of_work(factory) as uow:
        with pytest.raises(Exception, match="not answered"):
            notices.mark_reviewed(uow, notice_id=notice.id, actor="user:1 审核员", now=clock.now)
    with unit_of_work(factory) as uow:
        notices.answer(uow, objection_id=objection.id, text="经核实已完成8学时实操", actor="user:1 审核员",
                       now=clock.now)
        reviewed = notices.mark_reviewed(uow, notice_id=notice.id, actor="user:1 审核员",
                                         now=clock.now + timedelta(hours=1))
        assert notices.status(reviewed, clock.now.date()) == "reviewed"
    assert "经核实已完成8学时实操" in app_client.get(path).text
    with unit_of_work(factory) as uow:
        actions = [e.action for e in uow.session.query(AuditEntry).order_by(AuditEntry.seq)]
        assert audit_log.verify(uow.session).ok
    for step in ("notice.published", "objection.submitted", "objection.answered",
                 "notice.reviewed"):
        assert step in actions
