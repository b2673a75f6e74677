"""Offline-exam eligibility from the county plan (clause 21(2) and annex 3).

A learner may sit the offline exam for a course when
1. every lesson of the course is valid after review (an invalid, unreviewed or unstudied lesson
   blocks the exam, and each one is named in the reasons);
2. the credited class hours reach the course requirement (certificate-only courses: at least
   `EligibilityRules.certificate_only_min_class_hours`);
3. the occupation is one annex 3 allows to be trained online (row 1), and for those that need
   offline practical training (row 2) the institution recorded at least
   `EligibilityRules.practical_min_hours` offline practical hours;
4. the training did not start within one month after the learner's last exam (the plan forbids
   new subsidised training in that month).
Offline exams are held only in some months (April, August, December); `next_exam_window` says
which one comes next.

Pure: no clock. `today` is an argument, thresholds come in as `EligibilityRules` (loaded from
config/eligibility.toml and config/occupations.toml by `load_eligibility_rules`).
"""

from __future__ import annotations

import calendar
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

Hours = Decimal | float | int


def _hours(value: Hours) -> Decimal:
    # Through str so that 0.1 + 0.2 style float noise can't turn 40 hours into 39.999...
    return value if isinstance(value, Decimal) else Decimal(str(value))


class LessonState(StrEnum):
    """Where a lesson stands for eligibility (the verdict after any review)."""

    VALID = "valid"
    INVALID = "invalid"
    UNDER_REVIEW = "under_review"
    PENDING = "pending"  # studied, verdict not computed yet
    INCOMPLETE = "incomplete"  # studied in part: not all of the media covered, or a photo short
    NOT_STUDIED = "not_studied"


@dataclass(frozen=True, slots=True)
class LessonStatus:
    lesson_id: str
    sequence: int
    state: LessonState
    class_hours: Hours  # the class hours this lesson counts for when valid
    title: str = ""


@dataclass(frozen=True, slots=True)
class CourseRequirement:
    course_id: str
    occupation: str
    required_class_hours: Hours
    certificate_only: bool = False  # 仅取证培训: the plan sets a floor of 40 class hours


@dataclass(frozen=True, slots=True)
class LearnerRecord:
    """What the service knows about one enrolment when it decides eligibility."""

    course: CourseRequirement
    lessons: tuple[LessonStatus, ...]
    class_start_on: date  # 开班日期 of the enrolment's class
    practical_hours: Hours = 0  # offline practice recorded by the institution
    last_exam_on: date | None = None  # the learner's previous offline exam, any course


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    certificate_only_min_class_hours: Hours
    practical_min_hours: Hours
    practical_occupations: frozenset[str]  # annex 3 row 2: >= practical_min_hours offline
    exam_months: tuple[int, ...]
    cooldown_months: int  # no new subsidised training this many months after an exam
    online_occupations: frozenset[str]  # annex 3 row 1: may be trained online at all

    def needs_practical(self, occupation: str) -> bool:
        return normalise_occupation(occupation) in self.practical_occupations

    def trained_online(self, occupation: str) -> bool:
        return normalise_occupation(occupation) in self.online_occupations


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message_zh": self.message_zh, "message_en": self.message_en}


@dataclass(frozen=True, slots=True)
class ExamWindow:
    """A month in which offline exams are held."""

    starts_on: date
    ends_on: date

    @property
    def label_zh(self) -> str:
        return f"{self.starts_on.year}年{self.starts_on.month}月"

    @property
    def label_en(self) -> str:
        return self.starts_on.strftime("%B %Y")

    def as_dict(self) -> dict[str, str]:
        return {
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "label_zh": self.label_zh,
            "label_en": self.label_en,
        }


@dataclass(frozen=True, slots=True)
class Eligibility:
    eligible: bool
    reasons: tuple[Reason, ...]
    next_exam_window: ExamWindow
    credited_class_hours: Decimal
    required_class_hours: Decimal
    codes: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "codes", frozenset(r.code for r in self.reasons))

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "reasons": [r.as_dict() for r in self.reasons],
            "next_exam_window": self.next_exam_window.as_dict(),
            "credited_class_hours": str(self.credited_class_hours),
            "required_class_hours": str(self.required_class_hours),
        }


# ---------------------------------------------------------------- reason codes
NO_LESSONS = "NO_LESSONS"
LESSON_INVALID = "LESSON_INVALID"
LESSON_UNDER_REVIEW = "LESSON_UNDER_REVIEW"
LESSON_NOT_EVALUATED = "LESSON_NOT_EVALUATED"
LESSON_NOT_STUDIED = "LESSON_NOT_STUDIED"
LESSON_INCOMPLETE = "LESSON_INCOMPLETE"
CLASS_HOURS_SHORT = "CLASS_HOURS_SHORT"
PRACTICAL_HOURS_SHORT = "PRACTICAL_HOURS_SHORT"
OCCUPATION_NOT_ONLINE = "OCCUPATION_NOT_ONLINE"
TRAINING_TOO_SOON_AFTER_EXAM = "TRAINING_TOO_SOON_AFTER_EXAM"


def assess_eligibility(
    record: LearnerRecord, rules: EligibilityRules, *, today: date
) -> Eligibility:
    """Decide whether the learner may sit the offline exam, with every reason when not."""
    credited = sum(
        (_hours(x.class_hours) for x in record.lessons if x.state is LessonState.VALID),
        Decimal(0),
    )
    required = required_class_hours(record.course, rules)
    reasons = [
        *_occupation_reasons(record.course.occupation, rules),
        *_lesson_reasons(record.lessons),
        *_class_hour_reasons(credited, required),
        *_practical_reasons(record, rules),
        *_cooldown_reasons(record, rules),
    ]
    return Eligibility(
        eligible=not reasons,
        reasons=tuple(reasons),
        next_exam_window=next_exam_window(today, rules.exam_months),
        credited_class_hours=credited,
        required_class_hours=required,
    )


def required_class_hours(course: CourseRequirement, rules: EligibilityRules) -> Decimal:
    required = _hours(course.required_class_hours)
    if course.certificate_only:
        return max(required, _hours(rules.certificate_only_min_class_hours))
    return required


def _lesson_label(lessons: Iterable[LessonStatus]) -> str:
    return "、".join(f"第{x.sequence}课" for x in sorted(lessons, key=lambda x: x.sequence))


def _lesson_label_en(lessons: Iterable[LessonStatus]) -> str:
    return ", ".join(str(x.sequence) for x in sorted(lessons, key=lambda x: x.sequence))


_LESSON_REASONS: tuple[tuple[LessonState, str, str, str], ...] = (
    (
        LessonState.INVALID,
        LESSON_INVALID,
        "{zh} 学习判定无效",
        "judged invalid: lesson {en}",
    ),
    (
        LessonState.UNDER_REVIEW,
        LESSON_UNDER_REVIEW,
        "{zh} 正在人工复核，复核结束前不能报考",
        "under review, not eligible until decided: lesson {en}",
    ),
    (
        LessonState.PENDING,
        LESSON_NOT_EVALUATED,
        "{zh} 尚未完成评估",
        "not evaluated yet: lesson {en}",
    ),
    (
        LessonState.INCOMPLETE,
        LESSON_INCOMPLETE,
        "{zh} 尚未学完",
        "studied in part, not complete: lesson {en}",
    ),
    (LessonState.NOT_STUDIED, LESSON_NOT_STUDIED, "{zh} 尚未学习", "not studied yet: lesson {en}"),
)


def _lesson_reasons(lessons: Sequence[LessonStatus]) -> list[Reason]:
    if not lessons:
        return [Reason(NO_LESSONS, "课程没有登记任何课时", "the course has no registered lessons")]
    reasons = []
    for state, code, zh, en in _LESSON_REASONS:
        matching = [x for x in lessons if x.state is state]
        if matching:
            reasons.append(
                Reason(
                    code,
                    zh.format(zh=_lesson_label(matching)),
                    en.format(en=_lesson_label_en(matching)),
                )
            )
    return reasons


def _class_hour_reasons(credited: Decimal, required: Decimal) -> list[Reason]:
    if credited >= required:
        return []
    return [
        Reason(
            CLASS_HOURS_SHORT,
            f"已认定学时 {_fmt(credited)}，未达到要求的 {_fmt(required)} 学时",
            f"{_fmt(credited)} class hours credited, {_fmt(required)} required",
        )
    ]


def _occupation_reasons(occupation: str, rules: EligibilityRules) -> list[Reason]:
    # A course registered before annex 3 was enforced may name an occupation that is not
    # trained online: its online study earns no exam.
    if rules.trained_online(occupation):
        return []
    return [
        Reason(
            OCCUPATION_NOT_ONLINE,
            f"{occupation}不在附件3线上培训职业（工种）目录内，线上学习不能报考",
            f"{occupation} is not an occupation annex 3 allows to be trained online",
        )
    ]


def _practical_reasons(record: LearnerRecord, rules: EligibilityRules) -> list[Reason]:
    if not rules.needs_practical(record.course.occupation):
        return []
    done, needed = _hours(record.practical_hours), _hours(rules.practical_min_hours)
    if done >= needed:
        return []
    return [
        Reason(
            PRACTICAL_HOURS_SHORT,
            f"{record.course.occupation}须线下实操不少于 {_fmt(needed)} 学时，"
            f"机构登记 {_fmt(done)} 学时",
            f"{record.course.occupation} needs {_fmt(needed)} offline practical hours, "
            f"{_fmt(done)} recorded",
        )
    ]


def _cooldown_reasons(record: LearnerRecord, rules: EligibilityRules) -> list[Reason]:
    last = record.last_exam_on
    if last is None:
        return []
    until = add_months(last, rules.cooldown_months)
    # Only training that began after that exam counts as "new"; the course the exam was for
    # started before it.
    if not last <= record.class_start_on < until:
        return []
    return [
        Reason(
            TRAINING_TOO_SOON_AFTER_EXAM,
            f"上次考试 {last.isoformat()} 后 {rules.cooldown_months} 个月内"
            f"（{until.isoformat()} 前）不得参加新的补贴性培训，本班 "
            f"{record.class_start_on.isoformat()} 开班",
            f"training started {record.class_start_on.isoformat()}, within "
            f"{rules.cooldown_months} month(s) of the last exam on {last.isoformat()}",
        )
    ]


def _fmt(hours: Decimal) -> str:
    text = f"{hours.normalize():f}"
    return text


# ---------------------------------------------------------------- calendar
def add_months(day: date, months: int) -> date:
    """Same day `months` later, clamped to the month's end (31 Jan + 1 month = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def next_exam_window(today: date, exam_months: Sequence[int]) -> ExamWindow:
    """The exam month that is open on `today` or, when none is, the next one."""
    months = sorted(set(exam_months))
    if not months or any(not 1 <= m <= 12 for m in months):
        raise ValueError(f"exam months must be 1..12, got {exam_months!r}")
    year = today.year
    month = next((m for m in months if m >= today.month), None)
    if month is None:
        year, month = year + 1, months[0]
    return ExamWindow(
        starts_on=date(year, month, 1),
        ends_on=date(year, month, calendar.monthrange(year, month)[1]),
    )


# ---------------------------------------------------------------- config
def normalise_occupation(name: str) -> str:
    # Platforms write "电工（初级）" or " 电工 "; the annex lists the bare occupation name.
    bare = name.strip()
    for bracket in ("（", "("):
        bare = bare.split(bracket, 1)[0]
    return bare.strip()


def annex_names(entry: str) -> list[str]:
    """The occupation names one annex-3 entry stands for: "电子商务师(含跨境电子商务师)" is both."""
    included = re.findall(r"[（(]含([^）)]+)[）)]", entry)
    return [normalise_occupation(entry), *(normalise_occupation(x) for x in included)]


def parse_eligibility_rules(
    eligibility: Mapping[str, Any], occupations: Mapping[str, Any]
) -> EligibilityRules:
    """Build the rules from the two parsed TOML documents (see config/*.toml).

    Annex 3 (config/occupations.toml): every occupation of row 2 (`offline_practical`) must be
    one of row 1 (`online`), the occupations that may be trained online at all."""
    entries = [annex_names(str(e)) for e in occupations["online"]]
    online = {n for names in entries for n in names}
    practical = {n for e in occupations["offline_practical"] for n in annex_names(str(e))}
    # row 1's "电子商务师(含跨境电子商务师)": the included name is the same occupation, so row 2's
    # 电子商务师 covers 跨境电子商务师 too
    practical |= {n for names in entries if names[0] in practical for n in names}
    if not practical <= online:
        raise ValueError("occupations: offline_practical names occupations not in online: "
                         + ", ".join(sorted(practical - online)))
    exam = eligibility["exam"]
    return EligibilityRules(
        certificate_only_min_class_hours=_hours(eligibility["certificate_only_min_class_hours"]),
        practical_min_hours=_hours(occupations["practical_min_hours"]),
        practical_occupations=frozenset(practical),
        exam_months=tuple(int(m) for m in exam["months"]),
        cooldown_months=int(exam["no_new_training_months_after_exam"]),
        online_occupations=frozenset(online),
    )


def load_eligibility_rules(eligibility_toml: Path, occupations_toml: Path) -> EligibilityRules:
    with eligibility_toml.open("rb") as fh:
        eligibility = tomllib.load(fh)
    with occupations_toml.open("rb") as fh:
        occupations = tomllib.load(fh)
    return parse_eligibility_rules(eligibility, occupations)
