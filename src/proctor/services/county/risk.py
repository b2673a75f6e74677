"""Institution risk for the county: flagged share by rule, county signals, exam pass rates,
each against the county's median, and the trend against the previous period.

The risk index is the mean, over the three measures, of the institution's value divided by the
county median (capped at 5; a median of zero counts as "any value above it is 5"): 1.0 is a
typical institution, 2.0 twice as bad as the median. Satisfaction (满意度) is left blank until the
paperwork issue (15) records it.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from proctor.storage.tables import (
    CountyCase,
    CountyCaseInstitution,
    CountyExam,
    Institution,
    SessionVerdict,
    StudySession,
)

CAP = 5.0


@dataclass
class InstitutionRisk:
    institution_id: int
    name: str
    county_code: str
    sessions: int = 0
    flagged: int = 0
    by_rule: Counter[str] = field(default_factory=Counter)
    previous_sessions: int = 0
    previous_flagged: int = 0
    signals: int = 0
    signals_by_rule: Counter[str] = field(default_factory=Counter)
    confirmed: int = 0
    exams_sat: int = 0
    exams_passed: int = 0
    satisfaction: float | None = None
    index: float = 0.0

    @property
    def flagged_share(self) -> float:
        return self.flagged / self.sessions if self.sessions else 0.0

    @property
    def previous_share(self) -> float:
        return self.previous_flagged / self.previous_sessions if self.previous_sessions else 0.0

    @property
    def trend(self) -> float:
        """Change of the flagged share against the previous period (share points)."""
        return self.flagged_share - self.previous_share

    @property
    def signals_per_100(self) -> float:
        return 100.0 * self.signals / self.sessions if self.sessions else float(self.signals)

    @property
    def pass_rate(self) -> float | None:
        return self.exams_passed / self.exams_sat if self.exams_sat else None


@dataclass
class CountyRisk:
    rows: list[InstitutionRisk]
    median_flagged_share: float
    median_signals_per_100: float
    median_pass_rate: float | None
    since: datetime
    until: datetime


def _ratio(value: float, median: float) -> float:
    if median <= 0:
        return CAP if value > 0 else 1.0
    return min(value / median, CAP)


def county_risk(s: Session, covers: ColumnElement[bool], *, now: datetime, days: int = 30
                ) -> CountyRisk:
    since, before = now - timedelta(days=days), now - timedelta(days=2 * days)
    insts = {i.id: InstitutionRisk(i.id, i.name, i.county_code)
             for i in s.scalars(select(Institution).where(covers).order_by(Institution.name))}
    rows = s.execute(select(StudySession.institution_id, StudySession.started_at,
                            SessionVerdict.status, SessionVerdict.rules)
                     .outerjoin(SessionVerdict, SessionVerdict.session_id == StudySession.id)
                     .where(StudySession.started_at >= before, covers_column(covers,
                                                                             StudySession)))
    for inst_id, started, status, rules in rows.tuples():
        r = insts.get(inst_id)
        if r is None:
            continue
        bad = status == "invalid"
        if started >= since:
            r.sessions += 1
            r.flagged += bad
            if bad:
                r.by_rule.update(rules or [])
        else:
            r.previous_sessions += 1
            r.previous_flagged += bad
    cases = s.execute(select(CountyCaseInstitution.institution_id, CountyCase.rule,
                             CountyCase.status)
                      .join(CountyCase, CountyCase.id == CountyCaseInstitution.case_id)
                      .where(CountyCase.opened_at >= since))
    for inst_id, rule, status in cases.tuples():
        r = insts.get(inst_id)
        if r is not None and status != "dismissed":
            r.signals += 1
            r.signals_by_rule[rule] += 1
            r.confirmed += status == "confirmed"
    exams = s.execute(select(CountyExam.institution_id, CountyExam.result, func.count())
                      .where(CountyExam.exam_on >= (now - timedelta(days=365)).date())
                      .group_by(CountyExam.institution_id, CountyExam.result))
    for inst_id, result, n in exams.tuples():
        r = insts.get(inst_id)
        if r is not None and result != "absent":
            r.exams_sat += n
            r.exams_passed += n if result == "pass" else 0
    active = [r for r in insts.values() if r.sessions or r.signals or r.exams_sat]
    med_share = statistics.median([r.flagged_share for r in active]) if active else 0.0
    med_signals = statistics.median([r.signals_per_100 for r in active]) if active else 0.0
    rates = [r.pass_rate for r in active if r.pass_rate is not None]
    med_pass = statistics.median(rates) if rates else None
    for r in insts.values():
        parts = [_ratio(r.flagged_share, med_share), _ratio(r.signals_per_100, med_signals)]
        if r.pass_rate is not None and med_pass is not None:
            parts.append(_ratio(1.0 - r.pass_rate, 1.0 - med_pass))
        r.index = round(sum(parts) / len(parts), 3)
    ranked = sorted(insts.values(), key=lambda r: (-r.index, -r.signals, r.name))
    return CountyRisk(ranked, med_share, med_signals, med_pass, since, now)


def covers_column(covers: ColumnElement[bool], table: type[StudySession]) -> ColumnElement[bool]:
    """The scope's WHERE clause is on Institution.id; sessions carry their institution id."""
    return table.institution_id.in_(select(Institution.id).where(covers))


def signals_by_rule(risk: CountyRisk) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for r in risk.rows:
        for rule, n in r.signals_by_rule.items():
            total[rule] += n
    return dict(total)
