"""The plans' paperwork in the portal (docs/paperwork.md): leaves for make-up study,
rectification periods the county sees and ends, subsidy notices with their objections, and the
county reports with their charts (inline SVG, the same figures as the XLSX)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from proctor.domain.errors import Forbidden, NotFound
from proctor.portal import pages
from proctor.portal.deps import BASE, RowId, ViewerDep, page, redirect, require_csrf
from proctor.portal.pages import Viewer
from proctor.services import audit_log, classes, makeup, notices, reports
from proctor.storage.tables import Institution, Learner, Notice, Report, TrainingClass

router = APIRouter(prefix="/paperwork")


def _counties(v: Viewer) -> list[str] | None:
    """None: every county (administrators, auditors)."""
    return None if v.scope.sees_all else list(v.scope.county_codes)


def _county_user(v: Viewer) -> None:
    if not (v.scope.sees_all or v.scope.county_codes):
        raise NotFound(pages.NOT_FOUND)


@router.get("", response_class=HTMLResponse)
def overview(request: Request, v: ViewerDep) -> HTMLResponse:
    """Rectification periods and subsidy notices in the viewer's scope."""
    s = v.uow.session
    today = v.now.date()
    inst_ids: set[int] = {int(str(i)) for i in s.scalars(v.scope.institution_ids())}
    rects = [{"id": r.id, "institution": name, "rate": r.rate, "started_at": r.started_at,
              "ends_on": r.ends_on, "ended_at": r.ended_at, "ended_by": r.ended_by,
              "active": r.ended_at is None and r.ends_on > today}
             for r, name in classes.rectifications(s, _counties(v))
             if r.institution_id in inst_ids]
    rows = s.execute(select(Notice, TrainingClass).join(TrainingClass,
                                                        TrainingClass.id == Notice.class_id)
                     .where(TrainingClass.institution_id.in_(inst_ids))
                     .order_by(Notice.published_at.desc())).all()
    items = [{"notice": n, "info": notices.describe(s, n), "status": notices.status(n, today),
              "objections": notices.objections(s, n.id)} for n, _cls in rows]
    return page(request, "paperwork/overview.html", "paperwork", {
        "rectifications": rects, "notices": items, "can_decide": v.scope.can_review,
        "min_rate": v.policy.satisfaction_min_rate, "makeup": v.policy.makeup,
        "done": request.query_params.get("done", "")})


@router.post("/rectifications/{rectification_id}/end")
def end_rectification(request: Request, v: ViewerDep, rectification_id: RowId,
                      csrf_token: Annotated[str, Form()] = "",
                      note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """The county ends a rectification period (audited)."""
    require_csrf(request, csrf_token)
    _county_user(v)
    if not v.scope.can_review:
        raise Forbidden("只有县级审核人员可以结束整改期。")
    classes.end_rectification(v.uow, rectification_id=rectification_id,
                              actor=audit_log.actor_of(v.user), note=note, now=v.now)
    return redirect(f"{BASE}/paperwork?done=rectification")


@router.post("/objections/{objection_id}/answer")
def answer_objection(request: Request, v: ViewerDep, objection_id: RowId,
                     csrf_token: Annotated[str, Form()] = "",
                     answer: Annotated[str, Form(max_length=2000)] = "") -> Response:
    require_csrf(request, csrf_token)
    _county_user(v)
    if not v.scope.can_review:
        raise Forbidden("只有县级审核人员可以答复异议。")
    notices.answer(v.uow, objection_id=objection_id, text=answer, actor=audit_log.actor_of(v.user),
                   now=v.now)
    return redirect(f"{BASE}/paperwork?done=answered")


@router.post("/notices/{notice_id}/reviewed")
def notice_reviewed(request: Request, v: ViewerDep, notice_id: RowId,
                    csrf_token: Annotated[str, Form()] = "") -> Response:
    require_csrf(request, csrf_token)
    _county_user(v)
    if not v.scope.can_review:
        raise Forbidden("只有县级审核人员可以完成审核。")
    notices.mark_reviewed(v.uow, notice_id=notice_id, actor=audit_log.actor_of(v.user), now=v.now)
    return redirect(f"{BASE}/paperwork?done=reviewed")


@router.post("/leaves")
def record_leave(request: Request, v: ViewerDep, csrf_token: Annotated[str, Form()] = "",
                 learner: Annotated[int, Form(ge=1, le=2**31 - 1)] = 0,
                 course: Annotated[str, Form(max_length=64)] = "",
                 lesson: Annotated[str, Form(max_length=64)] = "",
                 reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """A reviewer or the institution's staff records a leave (请假) for make-up study."""
    require_csrf(request, csrf_token)
    row = v.uow.session.get(Learner, learner)
    inst = v.uow.session.get(Institution, row.institution_id) if row is not None else None
    if row is None or inst is None or not v.scope.covers_institution(inst):
        raise NotFound(pages.NOT_FOUND)
    if not (v.scope.can_review or v.scope.role == "institution_staff"):
        raise Forbidden("当前账号不能登记请假。")
    makeup.record_leave(v.uow, institution_id=inst.id, learner_ext=row.ext_id, course_ext=course,
                        lesson_ext=lesson, reason=reason, actor=audit_log.actor_of(v.user),
                        settings=v.settings, policy=v.policy, now=v.now)
    return redirect(f"{BASE}/learners/{row.id}?done=leave")


# --- reports ---------------------------------------------------------------------------------

def _bars(values: dict[str, float], *, width: int = 720, bar_h: int = 22,
          percent: bool = False) -> dict[str, Any]:
    """Geometry of a horizontal bar chart for the template (inline SVG, no script)."""
    top = max(values.values(), default=0) or 1
    top = 1.0 if percent else top
    label_w = 300
    bars = [{"label": k, "value": v, "text": f"{v:.0%}" if percent else f"{v:g}",
             "y": i * (bar_h + 8), "w": max(1.0, (width - label_w - 60) * v / top)}
            for i, (k, v) in enumerate(values.items())]
    return {"bars": bars, "height": max(1, len(bars)) * (bar_h + 8), "width": width,
            "label_w": label_w, "bar_h": bar_h}


def _charts(f: dict[str, Any]) -> list[dict[str, Any]]:
    by_inst = f["by_institution"]
    sat = {k: v["satisfied"] / v["responses"] for k, v in by_inst.items() if v["responses"]}
    return [
        {"title": "被标记会话（按规则）", "chart": _bars(f["flagged_by_rule"])},
        {"title": "被标记会话（按机构）", "chart": _bars({k: v["flagged"] for k, v in by_inst.items()})},
        {"title": "学习会话（按机构）", "chart": _bars({k: v["sittings"] for k, v in by_inst.items()})},
        {"title": "满意度（按机构）", "chart": _bars(sat, percent=True)},
    ]


def _report_in_scope(v: Viewer, report_id: int) -> Report:
    report = v.uow.session.get(Report, report_id)
    counties = _counties(v)
    if report is None or (counties is not None and report.county_code not in counties):
        raise NotFound(pages.NOT_FOUND)
    return report


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, v: ViewerDep) -> HTMLResponse:
    _county_user(v)
    stored = reports.stored(v.uow.session, _counties(v))
    chosen_id = request.query_params.get("id", "")
    chosen = (_report_in_scope(v, int(chosen_id)) if chosen_id.isdigit() and len(chosen_id) < 10
              else (stored[0] if stored else None))
    counties = _counties(v) or sorted(set(v.uow.session.scalars(select(Institution.county_code))))
    return page(request, "paperwork/reports.html", "reports", {
        "reports": stored, "chosen": chosen, "counties": counties,
        "charts": _charts(chosen.figures) if chosen is not None else [],
        "default_period": reports.periods_due(v.now.date())[0]})


@router.post("/reports")
def generate_report(request: Request, v: ViewerDep, csrf_token: Annotated[str, Form()] = "",
                    county: Annotated[str, Form(max_length=6)] = "",
                    period: Annotated[str, Form(max_length=7)] = "") -> Response:
    """Generate (or regenerate) a report on demand."""
    require_csrf(request, csrf_token)
    _county_user(v)
    counties = _counties(v)
    if counties is not None and county not in counties:
        raise NotFound(pages.NOT_FOUND)
    report = reports.generate(v.uow, county_code=county, period=period, policy=v.policy, now=v.now)
    return redirect(f"{BASE}/paperwork/reports?id={report.id}")


@router.get("/reports/{report_id}.xlsx")
def report_xlsx(v: ViewerDep, report_id: RowId) -> Response:
    report = _report_in_scope(v, report_id)
    return Response(bytes(report.xlsx), headers={
        "Content-Disposition": f'attachment; filename="report-{report.county_code}-'
                               f'{report.period}.xlsx"'},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
