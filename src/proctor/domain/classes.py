"""Class rules of the county plan, checked when a class (班) opens: pure checks on values.

- 每班人数不得超过80人: ``Policy.max_class_size``;
- 每课时不低于40分钟: every lesson gives at least ``Policy.class_hour_s`` of media per class hour;
- 仅取证培训 at least ``EligibilityRules.certificate_only_min_class_hours`` class hours;
- annex 3: only the occupations of row 1 are trained online; those of row 2 need a plan with at
  least ``EligibilityRules.practical_min_hours`` offline practical class hours;
- satisfaction below ``Policy.satisfaction_min_rate`` stops new classes for a rectification
  period (``Policy.rectification_months``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from proctor.domain.eligibility import EligibilityRules

CLASS_SIZE = "CLASS_SIZE"
CLASS_HOUR_SHORT = "CLASS_HOUR_SHORT"
CERTIFICATE_ONLY_HOURS = "CERTIFICATE_ONLY_HOURS"
OCCUPATION_NOT_ONLINE = "OCCUPATION_NOT_ONLINE"
PRACTICAL_HOURS_PLAN = "PRACTICAL_HOURS_PLAN"
SATISFACTION_RECTIFICATION = "SATISFACTION_RECTIFICATION"


@dataclass(frozen=True, slots=True)
class Problem:
    code: str
    message: str
    field: str


def size_problems(size: int, max_size: int) -> list[Problem]:
    if size <= max_size:
        return []
    return [Problem(CLASS_SIZE, f"{CLASS_SIZE}: a class has at most {max_size} learners "
                    f"(每班人数不得超过{max_size}人), this one {size}", "size")]


def course_problems(*, lessons: Sequence[tuple[str, float, float]], required_class_hours: float,
                    certificate_only: bool, class_hour_s: float,
                    certificate_min_hours: float) -> list[Problem]:
    """``lessons``: (lesson id, media seconds, class hours) of the course."""
    out = []
    short = [lid for lid, duration, hours in lessons if duration + 1e-6 < hours * class_hour_s]
    if short:
        out.append(Problem(CLASS_HOUR_SHORT,
                           f"{CLASS_HOUR_SHORT}: a class hour is at least {class_hour_s / 60:g} "
                           f"minutes of study (每课时不低于{class_hour_s / 60:g}分钟); lessons "
                           f"{', '.join(short)} give less", "lessons"))
    if certificate_only and required_class_hours + 1e-9 < certificate_min_hours:
        out.append(Problem(CERTIFICATE_ONLY_HOURS,
                           f"{CERTIFICATE_ONLY_HOURS}: certificate-only training needs at least "
                           f"{certificate_min_hours:g} class hours, the course requires "
                           f"{required_class_hours:g}", "required_class_hours"))
    return out


def occupation_problems(occupation: str, planned_practical_hours: float | None,
                        rules: EligibilityRules) -> list[Problem]:
    """Annex 3: is the occupation trained online, and does the plan hold its offline hours?"""
    if not rules.trained_online(occupation):
        return [Problem(OCCUPATION_NOT_ONLINE,
                        f"{OCCUPATION_NOT_ONLINE}: {occupation!r} is not an occupation annex 3 "
                        f"allows to be trained online (不在附件3线上培训职业（工种）目录内); see "
                        f"config/occupations.toml", "occupation")]
    needed = float(rules.practical_min_hours)
    planned = planned_practical_hours or 0.0
    if rules.needs_practical(occupation) and planned + 1e-9 < needed:
        return [Problem(PRACTICAL_HOURS_PLAN,
                        f"{PRACTICAL_HOURS_PLAN}: {occupation} needs at least {needed:g} offline "
                        f"practical class hours in the plan (须开展不少于{needed:g}个学时的线下实训, "
                        f"annex 3), offline_practical_hours is {planned:g}",
                        "offline_practical_hours")]
    return []


def satisfaction_rate(satisfied: int, responses: int) -> float | None:
    return satisfied / responses if responses else None


def below_gate(satisfied: int, responses: int, *, min_rate: float, min_responses: int) -> bool:
    rate = satisfaction_rate(satisfied, responses)
    return rate is not None and responses >= min_responses and rate < min_rate
