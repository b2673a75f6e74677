"""Routes of the county's portal pages (see proctor.portal.county)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from proctor.domain.county.signals import RULES
from proctor.domain.errors import Forbidden, NotFound, ProctorError
from proctor.portal.deps import BASE, ViewerDep, page, redirect, require_csrf
from proctor.portal.pages import Viewer
from proctor.services import faces
from proctor.services.county import cases, exams, risk
from proctor.services.county.persons import person_of_learner, person_record
from proctor.services.standing import eligibility_rules
from proctor.storage.blobs import BlobNotFound, blob_store_from_settings
from proctor.storage.repositories import county as repo
from proctor.storage.tables import CountyCaseInstitution, CountyExam, Course, Institution, Learner

router = APIRouter(prefix="/county")
COUNTY_ROLES = frozenset({"admin", "county_reviewer", "auditor"})
DONE = {"decided": "案件结论已保存，并已写入审计日志。", "recorded": "考核结果已登记。",
        "hold_decided": "人脸核查结论已保存，并已写入审计日志。"}


def _county_viewer(v: Viewer) -> Viewer:
    if v.scope.role not in COUNTY_ROLES:
        raise NotFound("没有找到该页面，或不在您的权限范围内。")
    return v


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200
          ) -> HTMLResponse:
    done = DONE.get(request.query_params.get("done", ""))
    extra: dict[str, Any] = {"RULES": RULES}
    if done:
        extra["messages"] = [{"level": "success", "text": done}]
    return page(request, name, "county", extra | context, status)


def _names(v: Viewer, ids: list[int]) -> dict[int, str]:
    return {i: x.name for i, x in repo.institutions_by_id(v.uow.session, ids).items()}


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request, v: ViewerDep, status: str = "open", rule: str = "") -> Response:
    """County cases in scope, newest first."""
    _county_viewer(v)
    rows = repo.cases_in_scope(v.uow.session, v.scope.covers(CountyCaseInstitution.institution_id),
                               status=status or None, rule=rule or None)
    return _page(request, "county/cases.html", {
        "cases": [cases.case_view(c) for c in rows], "status": status, "rule": rule})


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, v: ViewerDep, case_id: int) -> Response:
    """A case: the rule, the evidence, the sessions and learners it names, the decision form."""
    return _page(request, "county/case.html", _case_context(_county_viewer(v), case_id))


def _case_context(v: Viewer, case_id: int) -> dict[str, Any]:
    s = v.uow.session
    case = cases.scoped_case(s, v.scope, case_id)
    inst_ids = repo.case_institution_ids(s, case.id)
    names = _names(v, inst_ids)
    learners = [x for x in (s.get(Learner, i) for i in case.learner_ids) if x is not None]
    evidence = dict(case.evidence)
    sessions = evidence.pop("sessions", [])
    for row in sessions:
        row["institution"] = names.get(row.get("institution_id", -1), "")
    return {
        "case": case, "rule_zh": RULES.get(case.rule, (case.rule, ""))[0],
        "rule_en": RULES.get(case.rule, ("", case.rule))[1],
        "institutions": [{"id": i, "name": names.get(i, str(i))} for i in inst_ids],
        "learners": [{"id": x.id, "name": x.real_name, "ext_id": x.ext_id,
                      "institution": names.get(x.institution_id, ""),
                      "id_number": v.scope.id_number(x.id_number)} for x in learners],
        "sessions": sessions, "evidence": evidence, "can_decide": v.scope.can_review
        and case.status == "open", "form_error": None, "reason_value": ""}


@router.post("/cases/{case_id}/decide")
def decide(request: Request, v: ViewerDep, case_id: int, decision: Annotated[str, Form()] = "",
           reason: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
           ) -> Response:
    """Confirm or dismiss an open case (audited)."""
    _county_viewer(v)
    require_csrf(request, csrf_token)
    try:
        cases.decide(v.uow, user=v.user, scope=v.scope, case_id=case_id, decision=decision,
                     reason=reason, now=v.now)
    except (NotFound, Forbidden):
        raise
    except ProctorError as exc:
        context = _case_context(v, case_id) | {"form_error": exc.message, "reason_value": reason}
        return _page(request, "county/case.html", context, exc.status)
    return redirect(f"{BASE}/county/cases/{case_id}?done=decided")


@router.get("/persons/{learner_id}", response_class=HTMLResponse)
def person_page(request: Request, v: ViewerDep, learner_id: int) -> Response:
    """One person across institutions: every enrolment, class, session, verdict, exam, case."""
    _county_viewer(v)
    s = v.uow.session
    record = person_record(s, person=person_of_learner(s, learner_id=learner_id,
                                                       settings=v.settings), scope=v.scope)
    names = {i: x.name for i, x in record.institutions.items()}
    ext = {x.id: (x.ext_id, names.get(x.institution_id, "")) for x in record.learners}
    return _page(request, "county/person.html", {
        "id_number": record.id_number(v.scope), "name": record.learners[0].real_name,
        "learners": [{"id": x.id, "ext_id": x.ext_id, "institution": names.get(x.institution_id),
                      "name": x.real_name} for x in record.learners],
        "enrolments": [{"institution": ext[e.learner_id][1], "course": c.title,
                        "class_batch": e.class_batch, "start_date": e.start_date}
                       for e, c in record.enrolments],
        "sessions": [{"id": x.id, "institution": names.get(x.institution_id, ""),
                      "started_at": x.started_at, "ended_at": x.ended_at,
                      "status": record.verdicts[x.id].status if x.id in record.verdicts
                      else "pending",
                      "device": (x.client or {}).get("device_id"),
                      "ip": (x.client or {}).get("ip")} for x in record.sessions],
        "exams": [{"institution": names.get(e.institution_id, ""), "exam_on": e.exam_on,
                   "occupation": e.occupation, "result": e.result, "score": e.score,
                   "class_batch": e.class_batch} for e in record.exams],
        "cases": [cases.case_view(c) for c in record.cases]})


def _exam_context(v: Viewer) -> dict[str, Any]:
    s = v.uow.session
    recent = repo.exams_where(s, CountyExam.institution_id.in_(v.scope.institution_ids()))
    learners = {x.id: x for x in s.query(Learner).filter(
        Learner.id.in_([e.learner_id for e in recent]))} if recent else {}
    courses = {x.id: x for x in s.query(Course).filter(
        Course.id.in_([e.course_id for e in recent]))} if recent else {}
    names = _names(v, sorted({e.institution_id for e in recent}))
    counties = None if v.scope.sees_all else v.scope.county_codes
    return {
        "institutions": [i.name for i in exams.institutions_named(s, counties)],
        "months": eligibility_rules(v.settings).exam_months,
        "can_record": v.scope.can_review, "form_error": None, "form": {},
        "recent": [{"exam_on": e.exam_on, "institution": names.get(e.institution_id, ""),
                    "course": courses[e.course_id].ext_id if e.course_id in courses else "",
                    "learner_id": e.learner_id,
                    "id_number": v.scope.id_number(learners[e.learner_id].id_number)
                    if e.learner_id in learners else "", "result": e.result, "score": e.score,
                    "recorded_by": e.recorded_by} for e in recent]}


@router.get("/exams", response_class=HTMLResponse)
def exams_page(request: Request, v: ViewerDep) -> Response:
    """Recorded exams in scope, and the form to record one."""
    return _page(request, "county/exams.html", _exam_context(_county_viewer(v)))


@router.post("/exams")
def record_exam(request: Request, v: ViewerDep, id_number: Annotated[str, Form()] = "",
                institution: Annotated[str, Form()] = "", course_id: Annotated[str, Form()] = "",
                exam_on: Annotated[str, Form()] = "", result: Annotated[str, Form()] = "",
                score: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
                ) -> Response:
    """Record an exam sitting (county reviewers and administrators)."""
    _county_viewer(v)
    require_csrf(request, csrf_token)
    if not v.scope.can_review:
        raise NotFound("没有找到该页面，或不在您的权限范围内。")
    form = {"id_number": id_number, "institution": institution, "course_id": course_id,
            "exam_on": exam_on, "result": result, "score": score}
    try:
        try:
            day = date.fromisoformat(exam_on)
        except ValueError:
            raise ProctorError("考核日期格式应为 YYYY-MM-DD", field="exam_on") from None
        try:
            points = float(score) if score.strip() else None
        except ValueError:
            raise ProctorError("成绩应为 0 到 100 的数字", field="score") from None
        exams.record_exam(
            v.uow, data=exams.ExamInput(id_number, institution, course_id.strip(), day, result,
                                        points),
            county_codes=None if v.scope.sees_all else v.scope.county_codes,
            recorded_by=f"user:{v.user.id} {v.user.display_name}",
            exam_months=eligibility_rules(v.settings).exam_months, settings=v.settings,
            today=v.today, now=v.now)
    except ProctorError as exc:
        context = _exam_context(v) | {"form_error": exc.message, "form": form}
        return _page(request, "county/exams.html", context, exc.status)
    return redirect(f"{BASE}/county/exams?done=recorded")


@router.get("/risk", response_class=HTMLResponse)
def risk_page(request: Request, v: ViewerDep) -> Response:
    """Institutions ranked by risk against the county's median."""
    _county_viewer(v)
    result = risk.county_risk(v.uow.session, v.scope.covers(Institution.id), now=v.now)
    return _page(request, "county/risk.html", {"risk": result})


@router.get("/risk/{institution_id}", response_class=HTMLResponse)
def risk_institution(request: Request, v: ViewerDep, institution_id: int) -> Response:
    """One institution's record: its measures, rules and cases."""
    _county_viewer(v)
    result = risk.county_risk(v.uow.session, v.scope.covers(Institution.id), now=v.now)
    row = next((r for r in result.rows if r.institution_id == institution_id), None)
    if row is None:
        raise NotFound("没有找到该机构，或不在您的权限范围内。")
    rows = repo.cases_in_scope(v.uow.session, v.scope.covers(CountyCaseInstitution.institution_id),
                               institution_id=institution_id)
    return _page(request, "county/risk_institution.html", {
        "risk": result, "row": row, "rank": result.rows.index(row) + 1,
        "cases": [cases.case_view(c) for c in rows]})


# --- 1:N face hits held for review (issue #9) ----------------------------------------------

HOLD_KINDS = {"same_face_other_id": "同一张脸登记在另一个身份证号下",
              "other_face_same_id": "同一身份证号下登记了另一张脸"}


def _hold_side(v: Viewer, side: faces.HoldSide) -> dict[str, Any]:
    return {"learner_id": side.learner_id, "learner_pk": side.learner_pk,
            "institution": side.institution, "county_code": side.county_code,
            "name": side.real_name, "id_number": v.scope.id_number(side.id_number),
            "has_photo": side.photo_blob_key is not None}


def _holds_context(v: Viewer, status: str) -> dict[str, Any]:
    counties = None if v.scope.sees_all else list(v.scope.county_codes)
    views = faces.identity_holds(v.uow, counties, include_decided=status != "open")
    if status not in ("open", "all"):
        views = [h for h in views if h.status == status]
    threshold = v.policy.match_distance
    return {"status": status, "threshold": threshold, "can_decide": v.scope.can_review,
            "form_error": None, "form_hold": None, "reason_value": "",
            "holds": [{"id": h.hold_id, "kind": h.kind, "kind_zh": HOLD_KINDS.get(h.kind, h.kind),
                       "scope": h.scope, "status": h.status, "model": h.model,
                       "distance": h.distance, "similarity": 1 - h.distance,
                       "created_at": h.created_at, "new": _hold_side(v, h.new),
                       "other": _hold_side(v, h.other)} for h in views]}


@router.get("/face-holds", response_class=HTMLResponse)
def face_holds(request: Request, v: ViewerDep, status: str = "open") -> Response:
    """Enrolments held by the 1:N search: both learners' photos side by side, the score and
    the threshold, ID numbers masked per role, and the decision form."""
    _county_viewer(v)
    return _page(request, "county/face_holds.html", _holds_context(v, status))


@router.get("/face-holds/{hold_id}/photo/{side}")
def face_hold_photo(v: ViewerDep, hold_id: int, side: str) -> Response:
    """The held enrolment's photo (``new``) or the enrolled learner's (``other``), for users
    whose scope holds the hold (either learner's county)."""
    _county_viewer(v)
    if side not in ("new", "other"):
        raise NotFound("没有找到该照片。")
    view = faces.scoped_hold(v.uow, v.scope, hold_id)
    key = (view.new if side == "new" else view.other).photo_blob_key
    if key is None:
        raise NotFound("照片不存在或已过保存期限。")
    try:
        data = blob_store_from_settings(v.settings).get(key)
    except BlobNotFound:
        raise NotFound("照片不存在或已过保存期限。") from None
    return Response(data, media_type="image/png" if key.endswith(".png") else "image/jpeg",
                    headers={"Cache-Control": "private, max-age=300"})


@router.post("/face-holds/{hold_id}/decide")
def decide_face_hold(request: Request, v: ViewerDep, hold_id: int,
                     decision: Annotated[str, Form()] = "", reason: Annotated[str, Form()] = "",
                     csrf_token: Annotated[str, Form()] = "") -> Response:
    """Release (two people) or confirm (one person, two identities) a held enrolment."""
    _county_viewer(v)
    require_csrf(request, csrf_token)
    try:
        faces.decide_hold(v.uow, user=v.user, scope=v.scope, hold_id=hold_id,
                          decision=decision, reason=reason, now=v.now)
    except NotFound:
        raise
    except ProctorError as exc:
        context = _holds_context(v, "open") | {"form_error": exc.message,
                                               "form_hold": hold_id, "reason_value": reason}
        return _page(request, "county/face_holds.html", context, exc.status)
    return redirect(f"{BASE}/county/face-holds?done=hold_decided")
