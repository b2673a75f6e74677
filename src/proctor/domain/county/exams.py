"""Exams (结业考核) recorded by the county, and the rules that read them.

The plan: offline exams are held only in the exam months (April, August, December), and "上一个
项目未考核或考核后距下一次培训开班不足一个月的，不得参加下一次补贴性培训". The county's recorded
exams, whichever institution trained the person, are what counts; a platform's own word
(`enrolments.last_exam_date`) can only make the rule stricter, never lift it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from proctor.domain.eligibility import TRAINING_TOO_SOON_AFTER_EXAM, Reason, add_months

RESULTS = ("pass", "fail", "absent")
EXAM_OUTSIDE_WINDOW = "EXAM_OUTSIDE_WINDOW"


@dataclass(frozen=True, slots=True)
class ExamFact:
    exam_on: date
    result: str  # pass | fail | absent
    institution_id: int | None = None  # the institution that trained the person for it


def exam_month_problem(exam_on: date, exam_months: Sequence[int]) -> str | None:
    """None when ``exam_on`` falls in an exam month, else the message naming the months."""
    if exam_on.month in exam_months:
        return None
    months = "、".join(f"{m}月" for m in sorted(exam_months))
    return (f"线下考核只在 {months} 举行，{exam_on.isoformat()} 不在考核月份 "
            f"(offline exams are held only in months {sorted(exam_months)})")


def last_sat_on(exams: Iterable[ExamFact], *, on_or_before: date) -> date | None:
    """The latest exam the person sat (not absent) on or before the day."""
    days = [e.exam_on for e in exams if e.result != "absent" and e.exam_on <= on_or_before]
    return max(days) if days else None


def new_class_refusal(exams: Iterable[ExamFact], *, class_start_on: date,
                      cooldown_months: int) -> Reason | None:
    """Why a new subsidised class starting on ``class_start_on`` is refused, or None."""
    last = last_sat_on(exams, on_or_before=class_start_on)
    if last is None:
        return None
    until = add_months(last, cooldown_months)
    if class_start_on >= until:
        return None
    return Reason(
        TRAINING_TOO_SOON_AFTER_EXAM,
        f"不符合补贴性培训条件：县级记录显示该学员 {last.isoformat()} 参加结业考核，"
        f"{until.isoformat()} 前不得参加新的补贴性培训，本班 {class_start_on.isoformat()} 开班",
        f"not eligible: the county recorded an exam on {last.isoformat()}; no new subsidised "
        f"class may start before {until.isoformat()} (this class starts "
        f"{class_start_on.isoformat()})",
    )


def pass_rate(exams: Iterable[ExamFact]) -> tuple[int, int]:
    """(passed, sat) over the exams given; absences are not sittings."""
    sat = [e for e in exams if e.result != "absent"]
    return sum(1 for e in sat if e.result == "pass"), len(sat)
