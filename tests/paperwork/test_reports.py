"""County reports: figures from real sittings, the XLSX opens with its charts, the schedule."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image

from proctor.domain.errors import InvalidInput
from proctor.services import reports
from proctor.services.policies import policy_for
from proctor.services.users import create_user
from proctor.storage.db import unit_of_work
from tests.api.sitting import FakeClock, Sitting
from tests.factories import Platform
from tests.paperwork import render
from tests.paperwork.conftest import ARTIFACTS

PASSWORD = "county-pass-2026"

DURATION = 600.0


def test_period_bounds_and_due_periods() -> None:
    assert reports.period_bounds("2026-11") == (date(2026, 11, 1), date(2026, 12, 1))
    assert reports.period_bounds("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    assert reports.period_bounds("2026-Q4") == (date(2026, 10, 1), date(2027, 1, 1))
    assert reports.period_bounds("2026") == (date(2026, 1, 1), date(2027, 1, 1))
    with pytest.raises(InvalidInput, match="2026-Q4"):
        reports.period_bounds("2026-13")
    assert reports.periods_due(date(2026, 12, 1)) == ["2026-11", "2026-Q3", "2025"]
    assert reports.periods_due(date(2027, 1, 5)) == ["2026-12", "2026-Q4", "2026"]


def _november(platform: Platform, app_client: TestClient, clock: FakeClock) -> None:
    """Two learners of one class in November 2026: one honest sitting, one fast-forwarded, and
    both satisfied."""
    platform.course(lessons=2, duration_s=DURATION, class_hours=0.25)
    for lid in ("stu-1", "stu-2"):
        platform.learner(lid)
        r = platform.api.put(f"/v1/enrolments/{lid}/elec-101",
                             {"class_batch": "B1", "start_date": "2026-11-01"})
        assert r.status_code == 200, r.text
    good = Sitting.open(platform, app_client, clock)
    good.start()
    good.finish(DURATION)
    clock.advance(60)
    bad = Sitting.open(platform, app_client, clock, learner_id="stu-2")
    bad.start()
    bad.play(60)
    bad.event("seek", **{"from": bad.pos, "to": bad.pos + 300})
    bad.pos += 300
    bad.finish(DURATION)
    r = platform.api.post("/v1/classes/elec-101/B1/survey", {"answers": [
        {"learner_id": "stu-1", "satisfied": True}, {"learner_id": "stu-2", "satisfied": True}]})
    assert r.status_code == 200, r.text


def test_monthly_report_xlsx_opens_with_its_charts(platform: Platform, app_client: TestClient,
                                                    clock: FakeClock) -> None:
    _november(platform, app_client, clock)
    app = app_client.app
    policy = policy_for(app.state.settings)  # type: ignore[attr-defined]
    with unit_of_work(app.state.session_factory) as uow:  # type: ignore[attr-defined]
        report = reports.generate(uow, county_code=platform.county, period="2026-11",
                                  policy=policy, now=clock.now)
        f, data = report.figures, bytes(report.xlsx)
        empty = reports.generate(uow, county_code=platform.county, period="2026-10",
                                 policy=policy, now=clock.now).figures
    assert (f["trainees"], f["classes"], f["sittings"], f["valid"], f["flagged"]) == (2, 1, 2, 1, 1)
    assert f["flagged_by_rule"] == {"FAST_FORWARD": 1}
    assert f["class_hours"] == pytest.approx(DURATION / 2400, abs=0.01)
    assert f["by_institution"][platform.institution]["responses"] == 2
    assert empty["sittings"] == 0 and empty["classes"] == 0

    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["汇总", "按规则", "按机构"]
    assert wb["汇总"]["B2"].value == 2
    assert len(wb["按规则"]._charts) == 1 and len(wb["按机构"]._charts) == 2  # noqa: SLF001
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sum(n.startswith("xl/charts/chart") for n in names) == 3

    with unit_of_work(app.state.session_factory) as uow:  # type: ignore[attr-defined]
        made = reports.generate_due(uow, policy=policy, now=clock.now.replace(month=12, day=1))
        assert f"{platform.county}/2026-11" not in made  # already there
        assert f"{platform.county}/2026-Q3" in made and f"{platform.county}/2025" in made
        assert reports.generate_due(uow, policy=policy, now=clock.now.replace(month=12, day=1)) == []


def test_the_monthly_report_from_the_portal_opens_in_libreoffice_with_its_charts(
        platform: Platform, app_client: TestClient, clock: FakeClock, tmp_path: Path) -> None:
    """The county reviewer generates November's report in the portal and downloads the XLSX;
    LibreOffice Calc prints it: one page per sheet, and the chart sheets carry the drawn bars
    (coloured pixels that the same workbook without its charts does not have)."""
    render.tools()  # skip (naming what is missing) before any work when LibreOffice is absent
    _november(platform, app_client, clock)
    with unit_of_work(app_client.app.state.session_factory) as uow:  # type: ignore[attr-defined]
        create_user(uow, username="county-1", role="county_reviewer", display_name="县审核员",
                    county_codes=[platform.county], institution=None, password=PASSWORD)
    portal = TestClient(app_client.app, follow_redirects=False)
    token = _csrf(portal.get("/portal/login").text)
    assert portal.post("/portal/login", data={"username": "county-1", "password": PASSWORD,
                                              "csrf_token": token, "next": ""}).status_code == 303
    token = _csrf(portal.get("/portal/paperwork/reports").text)
    r = portal.post("/portal/paperwork/reports",
                    data={"csrf_token": token, "county": platform.county, "period": "2026-11"})
    assert r.status_code == 303, r.text
    html = portal.get(r.headers["location"]).text
    link = re.search(r'href="(/portal/paperwork/reports/\d+\.xlsx)"', html)
    assert link, html[:500]
    got = portal.get(link.group(1))
    assert got.status_code == 200 and got.content.startswith(b"PK"), got.text[:200]
    charted = tmp_path / "report-410105-2026-11.xlsx"
    charted.write_bytes(got.content)
    wb = load_workbook(charted)
    for ws in wb.worksheets:
        ws._charts = []  # noqa: SLF001
    plain = tmp_path / "report-without-charts.xlsx"
    wb.save(plain)

    shown, bare = render.pages(charted, tmp_path), render.pages(plain, tmp_path)
    assert len(shown) == len(bare) == 3  # 汇总, 按规则, 按机构: one landscape page each
    colour = [render.coloured_pixels(p) for p in shown]
    assert [render.coloured_pixels(p) for p in bare] == [0, 0, 0]
    assert colour[0] == 0  # the summary has no chart
    page_px = shown[1].width * shown[1].height
    # 按规则: one bar chart, 按机构: two (sittings and flagged; satisfaction)
    assert colour[1] > page_px // 200 and colour[2] > page_px // 100, colour
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _side_by_side(shown).save(ARTIFACTS / "paperwork-report-xlsx.png")


def _side_by_side(pages: list[Image.Image]) -> Image.Image:
    out = Image.new("RGB", (sum(p.width for p in pages), max(p.height for p in pages)), "white")
    x = 0
    for p in pages:
        out.paste(p, (x, 0))
        x += p.width
    return out


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf token in the page"
    return match.group(1)
