"""Page contexts from the database, always through the viewer's scope (see each template's
header for the context it needs). Out-of-scope ids raise NotFound: the portal answers 404."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup

from proctor.config import Settings
from proctor.domain.errors import MalformedRequest, NotFound
from proctor.domain.policy import Policy
from proctor.domain.timeline import build_timeline
from proctor.portal import divisions, labels
from proctor.portal.engine_view import player_view
from proctor.portal.templating import DISPLAY_TZ
from proctor.portal.timeline import (
    ChallengeMark,
    PhotoMark,
    TimelineView,
    ViolationBand,
    describe,
    render_timeline_svg,
)
from proctor.services import messages
from proctor.services import review as review_service
from proctor.services.evaluation import domain_event
from proctor.services.scope import Scope
from proctor.services.standing import Standing, eligibility_rules, standing, standings
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import portal as repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import Course, Institution, Learner, Lesson, User

RULES = ("FAST_FORWARD", "MULTI_WINDOW", "POPUP_GAP", "FACE_LIVENESS", "LESSON_ORDER",
         "RANDOM_PHOTO", "LATE_TELEMETRY")
# What each queue row awaits: 待复核 (a first decision), 待二审 (a second reviewer), 已复核.
QUEUE_STATUSES = ("awaiting", "second", "reviewed")
QUEUE_SORTS = ("", "newest", "oldest")
PAGE_SIZE = 25
DASHBOARD_DAYS = 30
NOT_FOUND = "该页面不存在或不在您的管辖范围内。"


@dataclass(frozen=True)
class Viewer:
    uow: UnitOfWork
    user: User
    scope: Scope
    settings: Settings
    policy: Policy
    now: datetime

    @property
    def today(self) -> date:
        return self.now.astimezone(DISPLAY_TZ).date()


def page_info(number: int, total: int, url: Any, size: int = PAGE_SIZE) -> dict[str, Any]:
    pages = max(1, -(-total // size))
    return {"number": number, "pages": pages, "total": total,
            "prev_url": url(number - 1) if number > 1 else None,
            "next_url": url(number + 1) if number < pages else None}


def _phone(v: Viewer, phone: str | None) -> str | None:
    """Phones follow the ID number's rule: whole for the roles that see full IDs."""
    if not phone or v.scope.sees_full_ids:
        return phone
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:]


def _county(code: str) -> str:
    return divisions.county_label(code)  # 行政区划 names from the kept data package


# --- dashboard -------------------------------------------------------------------------------

def dashboard(v: Viewer) -> dict[str, Any]:
    """Counted in the database (GROUP BY institution, day, status): nothing here reads the
    sessions one by one, however many there are."""
    since_day = v.today - timedelta(days=DASHBOARD_DAYS - 1)
    bounds = [datetime.combine(since_day + timedelta(days=d), datetime.min.time(), DISPLAY_TZ)
              for d in range(DASHBOARD_DAYS + 1)]
    s = v.uow.session
    stats: Counter[str] = Counter()
    per_inst: Counter[int] = Counter()
    flagged_inst: Counter[int] = Counter()
    days = [[0, 0] for _ in range(DASHBOARD_DAYS)]
    by_rule: Counter[str] = Counter()
    for inst_id, day, status, flagged, rules, n in repo.dashboard_counts(s, v.scope.covers,
                                                                         bounds):
        stats[status] += n
        if flagged:
            by_rule.update(dict.fromkeys(rules, n))
        per_inst[inst_id] += n
        flagged_inst[inst_id] += n if flagged else 0
        if 0 <= day < DASHBOARD_DAYS:
            days[day][0] += n
            days[day][1] += n if flagged else 0
    names = {i.id: i.name for i in repo.institutions(s, v.scope.covers)}
    total = sum(per_inst.values())
    flagged_total = sum(flagged_inst.values())
    return {
        "scope_label": v.scope.label() or (names.get(v.scope.institution_id or -1, "")),
        "period_label": f"近 {DASHBOARD_DAYS} 天（{since_day.isoformat()} 至 {v.today.isoformat()}）",
        "stats": {"sessions": total, "valid": stats["valid"], "invalid": stats["invalid"],
                  "under_review": stats["under_review"], "pending": stats["pending"],
                  "flagged_rate": (flagged_total / total) if total else 0.0},
        "by_rule": [{"rule": r, "flagged": by_rule[r], "total": total}
                    for r in RULES if by_rule[r] or r != "LATE_TELEMETRY"],
        "by_institution": sorted(
            ({"institution_id": i, "name": names.get(i, str(i)), "flagged": flagged_inst[i],
              "total": n} for i, n in per_inst.items()),
            key=lambda r: (-r["flagged"] / r["total"], r["name"])),
        "daily": [{"label": (since_day + timedelta(days=d)).strftime("%m-%d"), "total": tot,
                   "flagged": f} for d, (tot, f) in enumerate(days)],
        "queue_count": repo.needs_review_count(s, v.scope.covers),
    }


# --- queue and the flagged export --------------------------------------------------------------

def _int(value: str) -> int | None:
    if value.isdigit() and len(value) > 9:  # beyond any id column: a 400, not a 500
        raise MalformedRequest(f"{value[:20]}… is too large a number")
    return int(value) if value.isdigit() else None


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def queue_filters(params: dict[str, str]) -> tuple[dict[str, str], repo.QueueFilters]:
    """The filters as typed (for the form) and as parsed (unknown values are dropped)."""
    shown = {k: params.get(k, "").strip() for k in
             ("county", "institution", "course", "rule", "status", "date_from", "date_to",
              "q", "sort")}
    start, end = _day(shown["date_from"]), _day(shown["date_to"])
    parsed = repo.QueueFilters(
        county=shown["county"] if divisions.is_county(shown["county"]) else "",
        institution=_int(shown["institution"]), course=_int(shown["course"]),
        rule=shown["rule"] if shown["rule"] in RULES else "",
        status=(shown["status"] if shown["status"] in (*QUEUE_STATUSES, "needs_review")
                else ""),
        q=shown["q"][:50], sort=shown["sort"] if shown["sort"] in QUEUE_SORTS else "",
        started_from=datetime.combine(start, datetime.min.time(), DISPLAY_TZ) if start else None,
        started_before=(datetime.combine(end + timedelta(days=1), datetime.min.time(), DISPLAY_TZ)
                        if end else None))
    return shown, parsed


def review_stage(verdict: Any) -> str:
    """awaiting (待复核) | second (待二审) | reviewed (已复核)."""
    if verdict.status == "under_review":
        return "second"
    return "reviewed" if verdict.reviewed else "awaiting"


def _cursor(value: str) -> repo.Cursor | None:
    """'<0|1>.<epoch microseconds>.<session id>' (the last row of the page before)."""
    try:
        prio, micros, sid = value.split(".", 2)
        when = datetime.fromtimestamp(int(micros) / 1e6, DISPLAY_TZ)
        return (int(prio), when, sid) if prio in ("0", "1") and sid else None
    except ValueError:
        return None


def _cursor_text(c: repo.Cursor) -> str:
    return f"{c[0]}.{round(c[1].timestamp() * 1e6)}.{c[2]}"


def queue(v: Viewer, params: dict[str, str], number: int, url: Any) -> dict[str, Any]:
    shown, filters = queue_filters(params)
    s = v.uow.session
    after = _cursor(params.get("after", ""))
    rows, total = repo.queue(s, v.scope.covers, filters, offset=(number - 1) * PAGE_SIZE,
                             limit=PAGE_SIZE, after=after)
    pages_n = max(1, -(-total // PAGE_SIZE))
    if number > pages_n:  # page=999 of 1: the last page, not an empty "第 999/1 页"
        number = pages_n
        rows, total = repo.queue(s, v.scope.covers, filters, offset=(number - 1) * PAGE_SIZE,
                                 limit=PAGE_SIZE)
    reviewers = repo.last_reviewers(s, [r[0].id for r in rows])
    insts = repo.institutions(s, v.scope.covers)
    page = page_info(number, total, url)
    if rows and number < pages_n:  # next page by keyset (no OFFSET scan at page 79)
        cursor = _cursor_text(repo.cursor_of(rows[-1], filters))
        page["next_url"] = url(number + 1) + "&" + urlencode({"after": cursor})
    return {
        "filters": shown,
        "options": {
            "counties": [{"code": c, "name": _county(c)}
                         for c in sorted({i.county_code for i in insts})],
            "institutions": [{"id": str(i.id), "name": i.name} for i in insts],
            "courses": [{"id": str(c.id), "title": c.title}
                        for c in repo.courses(s, v.scope.covers)],
            "rules": list(RULES),
            "statuses": list(QUEUE_STATUSES),
            "sorts": [("", "待处理优先"), ("newest", "最新在前"), ("oldest", "最早在前")],
        },
        "rows": [{"session_id": st.id, "learner_id": str(learner.id),
                  "learner_name": learner.real_name,
                  "id_number": v.scope.id_number(learner.id_number),
                  "institution": inst.name, "course": course.title,
                  "lesson_sequence": lesson.seq, "lesson_title": lesson.title or "",
                  "started_at": st.started_at, "rules": list(verdict.rules or []),
                  "status": verdict.status, "stage": review_stage(verdict),
                  "reviewed_by": reviewers.get(st.id)}
                 for st, verdict, learner, inst, course, lesson in rows],
        "page": page,
        "can_review": v.scope.can_review,
        "export_query": {k: val for k, val in shown.items() if val},
    }


def flagged_rows(v: Viewer, params: dict[str, str], limit: int = 20_000) -> list[dict[str, Any]]:
    """Rows for exports.FLAGGED_COLUMNS (ID numbers unmasked here: the export masks per role)."""
    _, filters = queue_filters(params)
    s = v.uow.session
    rows, _ = repo.queue(s, v.scope.covers, filters, offset=0, limit=limit)
    decisions = repo.last_decisions(s, [r[0].id for r in rows])
    out = []
    for st, verdict, learner, inst, course, lesson in rows:
        decision = decisions.get(st.id)
        out.append({"session_id": st.id, "learner_name": learner.real_name,
                    "id_number": learner.id_number, "county": inst.county_code,
                    "institution": inst.name, "course": course.title,
                    "lesson_sequence": lesson.seq, "lesson_title": lesson.title or "",
                    "started_at": st.started_at, "ended_at": st.ended_at,
                    "rules": list(verdict.rules or []), "status": verdict.status,
                    "evidence": messages.grouped_text(
                        (verdict.result or {}).get("violations", []), v.policy),
                    "reviewed_by": decision[1] if decision else None,
                    "review_decision": (review_label(decision[0].decision) if decision else None),
                    "review_reason": decision[0].reason if decision else None})
    return out


def review_label(code: str) -> str:
    from proctor.portal.labels import REVIEW_DECISION_LABELS

    return REVIEW_DECISION_LABELS.get(code, code)


# --- one session -------------------------------------------------------------------------------

EVIDENCE_SHOWN = 10  # detail rows per group; the rest are counted ("另 16 次")
PHOTOS_PER_PAGE = 24
BANDS_MAX = 60  # timeline bands: neighbours of one rule are merged beyond this


def _evidence_groups(v: Viewer, violations: list[dict[str, Any]], t0: float
                     ) -> list[dict[str, Any]]:
    """Violations of one kind collapsed into one summary, detail on demand (a few rows)."""
    groups: dict[str, dict[str, Any]] = {}
    for x in sorted(violations, key=lambda x: x["at"]):
        code, params = messages.violation_message(x, v.policy)
        g = groups.get(code)
        if g is None:
            g = groups[code] = {"code": code, "rule": x["rule"], "count": 0, "first_at": x["at"],
                                "rows": [], "anchor": None}
        g["count"] += 1
        if len(g["rows"]) < EVIDENCE_SHOWN:
            photo = next((e.get("photo_id") for e in x.get("evidence", [])
                          if isinstance(e, dict) and e.get("photo_id")), None)
            g["rows"].append({
                "text": messages.render(code, params),
                "at": max(0.0, x["at"] - t0), "until": max(0.0, x["until"] - t0),
                "clock": messages.clock(x["at"]),
                "photo_url": f"/portal/photos/{photo}?thumb=1" if photo else None})
    out = []
    anchored: set[str] = set()
    for g in groups.values():
        if g["rule"] not in anchored:  # the timeline's bands of this rule link here
            g["anchor"] = f"ev-{g['rule']}"
            anchored.add(g["rule"])
        first = g["rows"][0]["text"] if g["rows"] else ""
        g["summary"] = (messages.render("group.summary", {
            "count": g["count"], "label": labels.violation_kind_label(g["code"]),
            "first_at": g["first_at"]}) if g["count"] > 1 else first)
        g["more"] = g["count"] - len(g["rows"])
        out.append(g)
    return out


def _bands(violations: list[dict[str, Any]], t0: float, span: float) -> list[ViolationBand]:
    """Timeline bands, neighbours of one rule merged so the picture stays light and legible."""
    gap = span / BANDS_MAX
    merged: dict[str, list[list[float]]] = {}
    for x in sorted(violations, key=lambda x: x["at"]):
        at, until = max(0.0, x["at"] - t0), max(0.0, x["until"] - t0)
        runs = merged.setdefault(x["rule"], [])
        if runs and at - runs[-1][1] <= gap:
            runs[-1][1] = max(runs[-1][1], until)
            runs[-1][2] += 1
        else:
            runs.append([at, until, 1])
    return [ViolationBand(rule, a, b, f"{int(n)} 处" if n > 1 else "")
            for rule, runs in merged.items() for a, b, n in runs]


def _reference_photo(v: Viewer, learner: Learner) -> str | None:
    return (f"/portal/learners/{learner.id}/enrolment-photo"
            if repo.enrolment_blob(v.uow.session, learner.id) else None)


def session_page(v: Viewer, session_id: str, params: dict[str, str] | None = None
                 ) -> dict[str, Any]:
    s = v.uow.session
    study = repo.study_session(s, v.scope.covers, session_id)
    if study is None:
        raise NotFound(NOT_FOUND)
    learner = s.get(Learner, study.learner_id)
    inst = s.get(Institution, study.institution_id)
    course = s.get(Course, study.course_id)
    lesson = s.get(Lesson, study.lesson_id)
    assert learner and inst and course and lesson
    verdict = ev_repo.verdict_of(s, session_id)
    events = [domain_event(e) for e in study_repo.events_of(s, session_id)]
    t0 = study.started_at.timestamp()
    points, seeks = player_view(build_timeline(events, v.policy), t0)
    challenges = ev_repo.challenges_of(s, session_id)
    kinds = {c.id: c.kind for c in challenges}
    photos = ev_repo.photos_of(s, session_id)
    photo_pages = max(1, -(-len(photos) // PHOTOS_PER_PAGE))
    photo_number = min(max(1, _int((params or {}).get("photos", "")) or 1), photo_pages)
    shown_photos = photos[(photo_number - 1) * PHOTOS_PER_PAGE:photo_number * PHOTOS_PER_PAGE]
    violations = (verdict.result.get("violations", []) if verdict is not None else [])
    end = (study.ended_at or study.last_event_at or v.now).timestamp()
    view = TimelineView(
        media_duration=lesson.duration_s, points=points, seeks=seeks,
        challenges=[ChallengeMark(c.issued_at.timestamp() - t0, c.kind, c.outcome,
                                  (c.received_at.timestamp() - t0) if c.received_at else None)
                    for c in challenges],
        photos=[PhotoMark(p.taken_at.timestamp() - t0, p.outcome, p.distance) for p in photos],
        violations=_bands(violations, t0, max(end - t0, 1.0)),
        wall_span=max(end - t0, 1.0),
        title=f"学习过程时间线：第{lesson.seq}课 {lesson.title or ''}".strip(),
        speed_above=v.policy.max_rate + v.policy.rate_tolerance)
    decisions = review_service.history(v.uow, session_id)
    users = {u.id: u.display_name for u in s.query(User).filter(
        User.id.in_([d.reviewer_id for d in decisions] or [-1]))}
    state = review_service.review_state(verdict, decisions, v.scope)
    following = repo.next_awaiting(s, v.scope.covers, session_id) if v.scope.can_review else None
    return {
        "next_session_url": f"/portal/sessions/{following}" if following else None,
        "session": {
            "id": study.id, "started_at": study.started_at, "ended_at": study.ended_at,
            "county_name": _county(inst.county_code),
            "learner": {"id": str(learner.id), "name": learner.real_name,
                        "id_number": v.scope.id_number(learner.id_number)},
            "institution": {"id": str(inst.id), "name": inst.name},
            "course": {"id": str(course.id), "title": course.title,
                       "occupation": course.occupation},
            "lesson": {"sequence": lesson.seq, "title": lesson.title or "",
                       "duration_seconds": lesson.duration_s, "class_hours": lesson.class_hours},
            "client": {"user_agent": study.client.get("user_agent", "—"),
                       "ip": study.client.get("ip", "—"),
                       "device_id": study.client.get("device_id", "—")},
        },
        "timeline_svg": Markup(render_timeline_svg(view)),
        "timeline_summary": describe(view),
        "verdict": {
            "status": verdict.status if verdict else "pending",
            "credited_seconds": verdict.credited_seconds if verdict else 0.0,
            "policy_version": (f"{verdict.policy_id}@{verdict.policy_version}" if verdict
                               else f"{v.policy.id}@{v.policy.version}"),
            "evaluated_at": verdict.evaluated_at if verdict else None,
            "violation_count": len(violations),
            "groups": _evidence_groups(v, violations, t0),
        },
        "reference_photo_url": _reference_photo(v, learner),
        "threshold": v.policy.match_distance,
        "photo_summary": [{"outcome": o, "count": n} for o, n in
                          Counter(p.outcome for p in photos).most_common()],
        "photos": [{"url": f"/portal/photos/{p.id}", "taken_at": p.taken_at,
                    "thumb_url": f"/portal/photos/{p.id}?thumb=1",
                    "at_seconds": p.taken_at.timestamp() - t0,
                    "kind": kinds.get(p.challenge_id, "photo"), "outcome": p.outcome,
                    "score": p.distance} for p in shown_photos],
        "photo_page": page_info(photo_number, len(photos), lambda n: (
            f"/portal/sessions/{session_id}?photos={n}#h-photos"), PHOTOS_PER_PAGE),
        "review": {
            "mode": state.mode, "closed_reason": state.closed_reason,
            "history": [{"decision": d.decision, "reason": d.reason or "",
                         "by": users.get(d.reviewer_id, str(d.reviewer_id)), "at": d.created_at}
                        for d in decisions],
            "second_review_required": v.settings.second_review_for_overturn,
            "form_error": None, "decision_value": "", "reason_value": "",
        },
    }


# --- learners and institutions -----------------------------------------------------------------

def _eligibility(st: Standing) -> dict[str, Any]:
    return st.eligibility.as_dict()


def _cells(st: Standing, latest: dict[int, str]) -> list[dict[str, Any]]:
    return [{"sequence": x.lesson.seq, "title": x.lesson.title or "", "status": x.state.value,
             "url": (f"/portal/sessions/{latest[x.lesson.id]}" if x.lesson.id in latest
                     else None)} for x in st.lessons]


def _standing(v: Viewer, learner: Learner, course: Course) -> Standing:
    return standing(v.uow.session, learner=learner, course=course, policy=v.policy,
                    settings=v.settings, today=v.today)


def _standings(v: Viewer, course: Course, learners: list[tuple[Learner, Any]]) -> list[Standing]:
    return standings(v.uow.session, course=course, learners=learners, policy=v.policy,
                     settings=v.settings, today=v.today)


def learner_page(v: Viewer, learner_id: int) -> dict[str, Any]:
    s = v.uow.session
    learner = repo.learner(s, v.scope.covers, learner_id)
    if learner is None:
        raise NotFound(NOT_FOUND)
    inst = s.get(Institution, learner.institution_id)
    assert inst is not None
    rules = eligibility_rules(v.settings)
    enrolments = []
    for enrolment, course in repo.enrolments_of(s, learner.id):
        st = _standing(v, learner, course)
        enrolments.append({
            "course": {"id": str(course.id), "title": course.title,
                       "occupation": course.occupation},
            "class_name": enrolment.class_batch, "start_date": enrolment.start_date,
            "credited_hours": st.eligibility.credited_class_hours,
            "required_hours": st.eligibility.required_class_hours,
            "practical_hours": enrolment.practical_hours,
            "needs_practical": rules.needs_practical(course.occupation),
            "eligibility": _eligibility(st), "lessons": _cells(st, repo.latest_sessions_by_lesson(
                s, [learner.id], course.id)[learner.id])})
    return {"learner": {
        "id": str(learner.id), "name": learner.real_name,
        "id_number": v.scope.id_number(learner.id_number),
        "id_number_masked": not v.scope.sees_full_ids,
        "phone": _phone(v, learner.phone),
        "county_name": _county(inst.county_code),
        "institution": {"id": str(inst.id), "name": inst.name},
        "enrolment_photo_url": None, "platform_id": learner.ext_id},
        "enrolments": enrolments}


def scoped_institution(v: Viewer, institution_id: int | None) -> Institution:
    inst = (repo.institution(v.uow.session, v.scope.covers, institution_id)
            if institution_id is not None else None)
    if inst is None:
        raise NotFound(NOT_FOUND)
    return inst


def scoped_course(v: Viewer, inst: Institution, course_id: int | None) -> Course | None:
    courses = repo.courses(v.uow.session, v.scope.covers, inst.id)
    if course_id is None:
        return courses[0] if courses else None
    course = next((c for c in courses if c.id == course_id), None)
    if course is None:
        raise NotFound(NOT_FOUND)
    return course


LEARNERS_PER_PAGE = 50


def institution_page(v: Viewer, institution_id: int, course_id: int | None,
                     params: dict[str, str] | None = None) -> dict[str, Any]:
    """One page of the course's learners (search by name, platform id, class or full ID
    number; keyset paging in roster order); the counts over all of them come from GROUP BY."""
    params = params or {}
    inst = scoped_institution(v, institution_id)
    course = scoped_course(v, inst, course_id)
    s = v.uow.session
    q = params.get("q", "").strip()[:50]
    number = max(1, _int(params.get("page", "")) or 1)
    rows: list[dict[str, Any]] = []
    lessons = reg_repo.lessons_of(s, course.id) if course else []
    needs_practical = bool(course) and eligibility_rules(v.settings).needs_practical(
        course.occupation if course else "")
    page: dict[str, Any] = page_info(1, 0, lambda n: "", LEARNERS_PER_PAGE)
    summary = {"learners": 0, "studied": 0, "all_valid": 0, "with_invalid": 0, "under_review": 0}
    if course:
        def url(n: int) -> str:
            return f"/portal/institutions/{inst.id}?" + urlencode(
                {k: x for k, x in {"course": str(course.id), "q": q, "page": str(n)}.items() if x})

        after = _after_learner(s, params.get("after", ""), course.id)
        found, total = repo.course_learners_page(
            s, course.id, q=q, limit=LEARNERS_PER_PAGE, after=after,
            offset=(number - 1) * LEARNERS_PER_PAGE)
        pages_n = max(1, -(-total // LEARNERS_PER_PAGE))
        if number > pages_n:  # past the end: the last page
            number = pages_n
            found, total = repo.course_learners_page(s, course.id, q=q, limit=LEARNERS_PER_PAGE,
                                                     offset=(number - 1) * LEARNERS_PER_PAGE)
        page = page_info(number, total, url, LEARNERS_PER_PAGE)
        if found and number < pages_n:  # the next page by keyset (no OFFSET scan)
            page["next_url"] = url(number + 1) + "&" + urlencode({"after": found[-1][0].id})
        latest = repo.latest_sessions_by_lesson(s, [x.id for x, _ in found], course.id)
        for (learner, enrolment), st in zip(found, _standings(v, course, found), strict=True):
            rows.append({"learner": {"id": str(learner.id), "name": learner.real_name,
                                     "id_number": v.scope.id_number(learner.id_number)},
                         "class_name": enrolment.class_batch,
                         "cells": _cells(st, latest[learner.id]),
                         "credited_hours": st.eligibility.credited_class_hours,
                         "practical_hours": enrolment.practical_hours,
                         "eligibility": _eligibility(st)})
        summary = repo.course_summary(s, course.id, len(lessons))
    from proctor.domain.eligibility import next_exam_window

    window = next_exam_window(v.today, eligibility_rules(v.settings).exam_months).as_dict()
    return {
        "institution": {"id": str(inst.id), "name": inst.name,
                        "county_name": _county(inst.county_code)},
        "courses": [{"id": str(c.id), "title": c.title}
                    for c in repo.courses(s, v.scope.covers, inst.id)],
        "course": ({"id": str(course.id), "title": course.title,
                    "occupation": course.occupation,
                    "required_hours": course.required_class_hours,
                    "needs_practical": needs_practical} if course else None),
        "lessons": [{"sequence": x.seq, "title": x.title or ""} for x in lessons],
        "rows": rows,
        "q": q,
        "page": page,
        "summary": summary,
        "next_exam_window": window,
    }


def _after_learner(s: Any, value: str, course_id: int) -> repo.LearnerKey | None:
    """The keyset position after the learner ``value`` (an id) in the course's roster order."""
    if not value.isdigit() or len(value) > 9:
        return None
    found = repo.course_learner_key(s, course_id, int(value))
    return found


def roster_rows(v: Viewer, inst: Institution, course: Course) -> Iterator[dict[str, Any]]:
    """Rows for exports.ROSTER_COLUMNS, 500 learners at a time (ID numbers unmasked here: the
    export masks per role); a generator, so the export streams."""
    for chunk in repo.course_learner_chunks(v.uow.session, course.id):
        for (learner, enrolment), st in zip(chunk, _standings(v, course, chunk), strict=True):
            e = st.eligibility
            yield {"learner_name": learner.real_name, "id_number": learner.id_number,
                   "phone": _phone(v, learner.phone), "institution": inst.name,
                   "course": course.title, "occupation": course.occupation,
                   "class_name": enrolment.class_batch, "class_start_on": enrolment.start_date,
                   "credited_hours": e.credited_class_hours,
                   "required_hours": e.required_class_hours,
                   "practical_hours": enrolment.practical_hours, "eligible": e.eligible,
                   "reasons": [r.message_zh for r in e.reasons],
                   "exam_window": e.next_exam_window.label_zh}
