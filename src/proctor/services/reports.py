"""Use case: monthly, quarterly and annual reports per county (月报、季报、年报).

Figures for one county and one period: trainees (distinct people who studied), classes opened,
class hours credited (valid study time / one class hour), sittings and the flagged ones by rule
and by institution, exams recorded, satisfaction answers. Stored per (county, period) with the
XLSX made from them (openpyxl, with its charts); generated on schedule (the beat task
``proctor.reports.generate_due``: last month's, last quarter's and last year's reports once their
period is over) and on demand (portal, ``proctor reports generate``).
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from proctor.domain.errors import InvalidInput
from proctor.domain.policy import Policy
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import (
    Enrolment,
    Institution,
    Learner,
    Report,
    SessionVerdict,
    StudySession,
    SurveyResponse,
    TrainingClass,
)

_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")


def period_bounds(period: str) -> tuple[date, date]:
    """[first day, first day after) of ``2026-11``, ``2026-Q4`` or ``2026``."""
    m = _PERIOD.match(period)
    if m is None:
        raise InvalidInput(f"period {period!r}: use 2026-11 (month), 2026-Q4 (quarter) or 2026",
                           field="period")
    year = int(m.group(1))
    if m.group(2):
        first_month, months = int(m.group(2)), 1
    elif m.group(3):
        first_month, months = 3 * (int(m.group(3)) - 1) + 1, 3
    else:
        first_month, months = 1, 12
    end_index = year * 12 + first_month - 1 + months
    return date(year, first_month, 1), date(end_index // 12, end_index % 12 + 1, 1)


def periods_due(today: date) -> list[str]:
    """The last finished month, quarter and year as of ``today``."""
    prev_m = date(today.year, today.month, 1).toordinal() - 1
    last = date.fromordinal(prev_m)
    out = [f"{last.year}-{last.month:02d}"]
    q = (today.month - 1) // 3  # quarters finished this year
    out.append(f"{today.year}-Q{q}" if q else f"{today.year - 1}-Q4")
    out.append(str(today.year - 1))
    return out


def _dt(d: date) -> datetime:
    from datetime import UTC

    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def figures(s: Session, *, county_code: str, period: str, policy: Policy) -> dict[str, Any]:
    start, end = period_bounds(period)
    insts = {i.id: i.name for i in s.scalars(select(Institution)
                                                 .where(Institution.county_code == county_code))}
    ids = list(insts)
    in_period = (StudySession.started_at >= _dt(start), StudySession.started_at < _dt(end),
                 StudySession.institution_id.in_(ids))
    trainees = int(s.scalar(select(func.count(func.distinct(Learner.id_number)))
                            .join(StudySession, StudySession.learner_id == Learner.id)
                            .where(*in_period)) or 0)
    rows = s.execute(select(StudySession.institution_id, SessionVerdict.status,
                            SessionVerdict.rules, SessionVerdict.credited_seconds)
                     .join(SessionVerdict, SessionVerdict.session_id == StudySession.id,
                           isouter=True)
                     .where(*in_period)).all()
    by_rule: dict[str, int] = {}
    by_inst: dict[str, dict[str, int]] = {name: {"sittings": 0, "flagged": 0}
                                          for name in insts.values()}
    credited_s = 0.0
    valid = flagged = 0
    for inst_id, status, rules, credited in rows:
        name = insts[inst_id]
        by_inst[name]["sittings"] += 1
        if status == "valid":
            valid += 1
            credited_s += credited or 0.0
        elif status in ("invalid", "under_review"):
            flagged += 1
            by_inst[name]["flagged"] += 1
            for rule in rules or []:
                by_rule[rule] = by_rule.get(rule, 0) + 1
    classes = s.execute(select(TrainingClass.institution_id, func.count())
                        .where(TrainingClass.institution_id.in_(ids),
                               TrainingClass.opens_on >= start, TrainingClass.opens_on < end)
                        .group_by(TrainingClass.institution_id)).all()
    exams = int(s.scalar(select(func.count()).select_from(Enrolment)
                         .join(Learner, Learner.id == Enrolment.learner_id)
                         .where(Learner.institution_id.in_(ids),
                                Enrolment.last_exam_date >= start,
                                Enrolment.last_exam_date < end)) or 0)
    sat: dict[str, dict[str, int]] = {}
    for inst_id, ok, n in s.execute(
            select(TrainingClass.institution_id, SurveyResponse.satisfied, func.count())
            .join(TrainingClass, TrainingClass.id == SurveyResponse.class_id)
            .where(TrainingClass.institution_id.in_(ids),
                   SurveyResponse.submitted_at >= _dt(start), SurveyResponse.submitted_at < _dt(end))
            .group_by(TrainingClass.institution_id, SurveyResponse.satisfied)).all():
        row = sat.setdefault(insts[inst_id], {"responses": 0, "satisfied": 0})
        row["responses"] += n
        row["satisfied"] += n if ok else 0
    return {
        "county_code": county_code, "period": period, "from": start.isoformat(),
        "until": end.isoformat(), "policy": f"{policy.id}@{policy.version}",
        "trainees": trainees,
        "classes": sum(n for _, n in classes),
        "class_hours": round(credited_s / policy.class_hour_s, 2),
        "sittings": len(rows), "valid": valid, "flagged": flagged,
        "exams": exams,
        "flagged_by_rule": dict(sorted(by_rule.items())),
        "by_institution": {name: {**v, "classes": next((n for i, n in classes if insts[i] == name), 0),
                                  **sat.get(name, {"responses": 0, "satisfied": 0})}
                           for name, v in sorted(by_inst.items())},
    }


def xlsx_bytes(f: dict[str, Any]) -> bytes:
    """The report as a workbook: a summary, flagged sittings by rule and by institution, and
    satisfaction, each table with its chart."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "汇总"
    ws.append([f"{f['county_code']} 职业技能培训报表 {f['period']}（{f['from']} 至 {f['until']} 前）"])
    ws["A1"].font = Font(bold=True, size=13)
    for label, key in (("培训人数", "trainees"), ("开班数", "classes"), ("认定学时", "class_hours"),
                       ("学习会话", "sittings"), ("有效会话", "valid"), ("被标记会话", "flagged"),
                       ("考试人次", "exams")):
        ws.append([label, f[key]])
    ws.column_dimensions["A"].width = 16

    rules = wb.create_sheet("按规则")
    rules.append(["规则", "被标记会话"])
    for rule, n in f["flagged_by_rule"].items():
        rules.append([rule, n])
    if f["flagged_by_rule"]:
        chart = BarChart()
        chart.title, chart.y_axis.title = "被标记会话（按规则）", "会话"
        n = len(f["flagged_by_rule"])
        chart.add_data(Reference(rules, min_col=2, min_row=1, max_row=n + 1), titles_from_data=True)
        chart.set_categories(Reference(rules, min_col=1, min_row=2, max_row=n + 1))
        rules.add_chart(chart, "D2")

    insts = wb.create_sheet("按机构")
    insts.append(["机构", "开班", "学习会话", "被标记会话", "满意度答卷", "满意", "满意度"])
    for name, v in f["by_institution"].items():
        rate = v["satisfied"] / v["responses"] if v["responses"] else None
        insts.append([name, v["classes"], v["sittings"], v["flagged"], v["responses"],
                      v["satisfied"], rate])
    n = len(f["by_institution"])
    insts.column_dimensions["A"].width = 28
    if n:
        chart = BarChart()
        chart.title = "学习会话与被标记会话（按机构）"
        chart.add_data(Reference(insts, min_col=3, max_col=4, min_row=1, max_row=n + 1),
                       titles_from_data=True)
        chart.set_categories(Reference(insts, min_col=1, min_row=2, max_row=n + 1))
        insts.add_chart(chart, "I2")
        sat = BarChart()
        sat.title, sat.y_axis.scaling.min, sat.y_axis.scaling.max = "满意度（按机构）", 0, 1
        sat.add_data(Reference(insts, min_col=7, min_row=1, max_row=n + 1), titles_from_data=True)
        sat.set_categories(Reference(insts, min_col=1, min_row=2, max_row=n + 1))
        insts.add_chart(sat, "I20")
        for row in insts.iter_rows(min_row=2, min_col=7, max_col=7):
            row[0].number_format = "0.0%"
    rules.column_dimensions["A"].width = 24
    for sheet in wb.worksheets:  # printed (or opened as PDF): each sheet one landscape page
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def generate(uow: UnitOfWork, *, county_code: str, period: str, policy: Policy,
             now: datetime) -> Report:
    f = figures(uow.session, county_code=county_code, period=period, policy=policy)
    report = uow.session.scalar(select(Report).where(Report.county_code == county_code,
                                                     Report.period == period))
    if report is None:
        report = Report(county_code=county_code, period=period)
        uow.session.add(report)
    report.figures, report.xlsx, report.generated_at = f, xlsx_bytes(f), now
    uow.session.flush()
    return report


def generate_due(uow: UnitOfWork, *, policy: Policy, now: datetime) -> list[str]:
    """The scheduled run: every county's finished periods not generated yet."""
    counties = sorted(set(uow.session.scalars(select(Institution.county_code))))
    made = []
    for county in counties:
        for period in periods_due(now.date()):
            exists = uow.session.scalar(select(Report.id).where(Report.county_code == county,
                                                                Report.period == period))
            if exists is None:
                generate(uow, county_code=county, period=period, policy=policy, now=now)
                made.append(f"{county}/{period}")
    return made


def stored(s: Session, county_codes: list[str] | None) -> list[Report]:
    q = select(Report).order_by(Report.generated_at.desc())
    if county_codes is not None:
        q = q.where(Report.county_code.in_(county_codes))
    return list(s.scalars(q))
