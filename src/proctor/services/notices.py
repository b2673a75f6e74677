"""Use case: a class's subsidy roster in public notice (公示), objections (异议), the review.

The plan: "在当地人社部门官方网站等进行不少于3个工作日的公示（对涉及个人隐私的敏感信息原则上不予公示）"
and "主管部门应在10个工作日内完成受理及审核". A notice lists the class's learners who are eligible
for the offline exam, names and ID numbers masked; it runs ``notice_working_days`` Chinese working
days (the `chinese-calendar` package) and the review is due ``review_working_days`` working days
after. Anyone may object on the public page; reviewers answer in the portal. Each step is in the
audit log.
"""

from __future__ import annotations

import io
import secrets
from datetime import date, datetime

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain import workdays
from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.domain.ids import mask_id_number
from proctor.domain.policy import Policy
from proctor.services import audit_log, classes
from proctor.services.standing import standing
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import Course, Enrolment, Institution, Learner, Notice, Objection

MAX_OBJECTION = 2000


def is_workday(day: date) -> bool:
    """China's working days; outside the years the calendar package knows, Monday to Friday."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def mask_name(name: str) -> str:
    """张* / 张*伟 / 欧**强: the family name (and the last character of longer names) only."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def roster(s: Session, *, course: Course, batch: str, settings: Settings, policy: Policy,
           today: date) -> list[dict[str, object]]:
    rows = s.execute(select(Enrolment, Learner).join(Learner, Learner.id == Enrolment.learner_id)
                     .where(Enrolment.course_id == course.id, Enrolment.class_batch == batch)
                     .order_by(Learner.ext_id)).all()
    out: list[dict[str, object]] = []
    for _enrolment, learner in rows:
        st = standing(s, learner=learner, course=course, policy=policy, settings=settings,
                      today=today)
        if st.eligibility.eligible:
            out.append({"no": len(out) + 1, "name": mask_name(learner.real_name),
                        "id_number": mask_id_number(learner.id_number),
                        "occupation": course.occupation,
                        "class_hours": float(st.eligibility.credited_class_hours)})
    return out


def publish(uow: UnitOfWork, *, institution_id: int, course_ext: str, batch: str, actor: str,
            settings: Settings, policy: Policy, now: datetime) -> Notice:
    s = uow.session
    cls = classes.get_class(s, institution_id=institution_id, course_ext=course_ext, batch=batch)
    course = s.get(Course, cls.course_id)
    assert course is not None
    rows = roster(s, course=course, batch=batch, settings=settings, policy=policy,
                  today=now.date())
    if not rows:
        raise InvalidInput(f"class {batch!r} has no learner eligible for the subsidy yet",
                           field="class_batch")
    period = workdays.notice_period(now.date(), notice_days=policy.notice_working_days,
                                    review_days=policy.review_working_days, is_workday=is_workday)
    notice = Notice(token=secrets.token_urlsafe(12), class_id=cls.id, published_at=now,
                    starts_on=period.starts_on, ends_on=period.ends_on,
                    review_due_on=period.review_due_on, roster=rows)
    s.add(notice)
    s.flush()
    audit_log.append(uow, actor=actor, action="notice.published", subject=f"notice:{notice.id}",
                     at=now, payload={"class_id": cls.id, "learners": len(rows),
                                      "starts_on": period.starts_on.isoformat(),
                                      "ends_on": period.ends_on.isoformat(),
                                      "review_due_on": period.review_due_on.isoformat()})
    return notice


def by_token(s: Session, token: str) -> Notice:
    notice = s.scalar(select(Notice).where(Notice.token == token))
    if notice is None:
        raise NotFound("no such notice", field="token")
    return notice


def objections(s: Session, notice_id: int) -> list[Objection]:
    return list(s.scalars(select(Objection).where(Objection.notice_id == notice_id)
                          .order_by(Objection.submitted_at, Objection.id)))


def object_to(uow: UnitOfWork, *, token: str, text: str, contact: str | None,
              now: datetime) -> Objection:
    notice = by_token(uow.session, token)
    text = text.strip()
    if not text:
        raise InvalidInput("an objection needs its text (异议内容)", field="text")
    if len(text) > MAX_OBJECTION:
        raise InvalidInput(f"text is longer than {MAX_OBJECTION} characters", field="text")
    if now.date() > notice.ends_on:
        raise Conflict(f"the notice ended on {notice.ends_on.isoformat()}; objections are closed",
                       field="token")
    row = Objection(notice_id=notice.id, text=text, contact=(contact or "").strip()[:100] or None,
                    submitted_at=now)
    uow.session.add(row)
    uow.session.flush()
    audit_log.append(uow, actor="public", action="objection.submitted",
                     subject=f"notice:{notice.id}", at=now, payload={"objection_id": row.id})
    return row


def answer(uow: UnitOfWork, *, objection_id: int, text: str, actor: str, now: datetime) -> Objection:
    row = uow.session.get(Objection, objection_id)
    if row is None:
        raise NotFound("no such objection", field="objection_id")
    text = text.strip()
    if not text:
        raise InvalidInput("the answer must not be blank", field="answer")
    row.answer, row.answered_by, row.answered_at = text[:MAX_OBJECTION], actor, now
    audit_log.append(uow, actor=actor, action="objection.answered",
                     subject=f"notice:{row.notice_id}", at=now, payload={"objection_id": row.id})
    return row


def mark_reviewed(uow: UnitOfWork, *, notice_id: int, actor: str, now: datetime) -> Notice:
    notice = uow.session.get(Notice, notice_id)
    if notice is None:
        raise NotFound("no such notice", field="notice_id")
    if now.date() <= notice.ends_on:
        raise Conflict(f"the notice runs until {notice.ends_on.isoformat()}: review after it")
    open_ = [o.id for o in objections(uow.session, notice.id) if o.answer is None]
    if open_:
        raise Conflict(f"{len(open_)} objection(s) are not answered yet")
    notice.reviewed_at, notice.reviewed_by = now, actor
    audit_log.append(uow, actor=actor, action="notice.reviewed", subject=f"notice:{notice.id}",
                     at=now, payload={"on_time": now.date() <= notice.review_due_on})
    return notice


def status(notice: Notice, today: date) -> str:
    if notice.reviewed_at is not None:
        return "reviewed"
    if today < notice.starts_on:
        return "scheduled"
    if today <= notice.ends_on:
        return "in_notice"
    return "review_overdue" if today > notice.review_due_on else "in_review"


def describe(s: Session, notice: Notice) -> dict[str, object]:
    from proctor.storage.tables import TrainingClass

    cls = s.get(TrainingClass, notice.class_id)
    assert cls is not None
    course = s.get(Course, cls.course_id)
    inst = s.get(Institution, cls.institution_id)
    assert course is not None and inst is not None
    return {"institution": inst.name, "county_code": inst.county_code, "course": course.title,
            "occupation": course.occupation, "batch": cls.batch}


def xlsx_bytes(s: Session, notice: Notice) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    info = describe(s, notice)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "补贴名单公示"
    ws.append([f"{info['institution']} {info['course']}（{info['batch']}）培训补贴名单公示"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"公示期 {notice.starts_on.isoformat()} 至 {notice.ends_on.isoformat()}（工作日），"
               f"审核截止 {notice.review_due_on.isoformat()}"])
    ws.append([])
    ws.append(["序号", "姓名", "身份证号", "职业（工种）", "认定学时"])
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for r in notice.roster:
        ws.append([r["no"], r["name"], r["id_number"], r["occupation"], r["class_hours"]])
    for col, width in zip("ABCDE", (6, 10, 22, 16, 10), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
