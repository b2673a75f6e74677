"""The cross-institution checks as incremental jobs.

- per session (when it ends): its fact row is built, then the rules run over the facts that
  could share a finding with it (same person, device, fingerprint, net, digest or class,
  starting within a day of it: index lookups, not a scan) and the person's enrolments;
- per day (beat, shortly after local midnight): the rules run over every fact of the day (and
  the evening before, for the night rule), closing what the per-session runs saw in part.
Both only add or extend cases; re-running them is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from proctor.config import Settings
from proctor.domain.county.policy import CountyPolicy
from proctor.domain.county.signals import (
    EnrolmentFact,
    FaceMatch,
    Finding,
    face_two_ids,
    person_two_classes,
    session_findings,
)
from proctor.services.county import cases
from proctor.services.county.facts import as_value, build_fact
from proctor.services.county.policy import county_policy_for
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import county as repo
from proctor.storage.tables import CountySessionFact, Learner, StudySession

REACH_S = 86400.0  # how far around a session its neighbours are looked up


@dataclass(frozen=True)
class CheckResult:
    facts: int
    findings: int
    opened: int


def enrolment_findings(s: Session, persons: Sequence[str], p: CountyPolicy) -> list[Finding]:
    rows = repo.enrolments_of_persons(s, sorted(set(persons)))
    closed: dict[tuple[int, int], date] = {}
    for e in repo.exams_of_persons(s, sorted(set(persons))):
        if e.result != "absent":
            k = (e.learner_id, e.course_id)
            closed[k] = min(closed.get(k, e.exam_on), e.exam_on)
    facts = [EnrolmentFact(e.id, x.id, x.id_hash or "", x.institution_id, e.course_id,
                           e.class_batch, e.start_date, closed.get((x.id, e.course_id)))
             for e, x in rows if x.id_hash]
    return person_two_classes(facts, p)


def check_session(uow: UnitOfWork, *, session_id: str, settings: Settings, now: datetime
                  ) -> CheckResult:
    """The per-session job."""
    s = uow.session
    study = s.get(StudySession, session_id)
    if study is None:
        return CheckResult(0, 0, 0)
    return check_fact(uow, build_fact(s, study, settings=settings), settings=settings, now=now)


def check_fact(uow: UnitOfWork, row: CountySessionFact, *, settings: Settings, now: datetime
               ) -> CheckResult:
    """The rules around one session's fact: its neighbours by index, the person's classes."""
    s = uow.session
    p = county_policy_for(settings)
    near = repo.facts_around(s, row, reach_s=REACH_S)
    findings = [f for f in session_findings([as_value(x) for x in near], p)
                if row.session_id in f.session_ids]
    findings += enrolment_findings(s, [row.person], p)
    opened = cases.record(uow, findings, now=now)
    return CheckResult(len(near), len(findings), len(opened))


def day_bounds(day: date, p: CountyPolicy) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC) - timedelta(
        seconds=p.local_offset_s())
    return start, start + timedelta(days=1)


def check_day(uow: UnitOfWork, *, day: date, settings: Settings, now: datetime) -> CheckResult:
    """The per-day job over one local day's facts."""
    s = uow.session
    p = county_policy_for(settings)
    start, end = day_bounds(day, p)
    rows = repo.facts_between(s, start - timedelta(hours=12), end)
    findings = session_findings([as_value(x) for x in rows], p)
    findings += enrolment_findings(s, [x.person for x in rows if x.start_at >= start], p)
    findings += face_two_ids(face_hold_matches(s, start, end), p)
    opened = cases.record(uow, findings, now=now)
    return CheckResult(len(rows), len(findings), len(opened))


def face_hold_matches(s: Session, start: datetime, end: datetime) -> list[FaceMatch]:
    """The faces 1:N search's "same face under another ID number" holds raised in the window
    (services/face_checks.py), as judged matches."""
    out = []
    for hold in repo.same_face_holds(s, start, end):
        a, b = s.get(Learner, hold.learner_id), s.get(Learner, hold.other_learner_id)
        if a is None or b is None or not a.id_hash or not b.id_hash:
            continue
        out.append(FaceMatch(a.id, a.id_hash, a.institution_id, b.id, b.id_hash,
                             b.institution_id, hold.distance, judged=True))
    return out


def facts_missing(s: Session, session_ids: Sequence[str]) -> list[str]:
    have = {x.session_id for x in s.query(CountySessionFact.session_id)
            .filter(CountySessionFact.session_id.in_(list(session_ids)))}
    return [x for x in session_ids if x not in have]


def record_face_matches(uow: UnitOfWork, *, matches: Sequence[tuple[int, int, float]],
                        settings: Settings, now: datetime) -> CheckResult:
    """The hook for the faces 1:N search: (learner a, learner b, distance) for each pair of
    enrolment faces it found to match. Different ID numbers behind one face open a
    FACE_TWO_IDS case."""
    s = uow.session
    p = county_policy_for(settings)
    values = []
    for a_id, b_id, distance in matches:
        a, b = s.get(Learner, a_id), s.get(Learner, b_id)
        if a is None or b is None or not a.id_hash or not b.id_hash:
            continue
        values.append(FaceMatch(a.id, a.id_hash, a.institution_id, b.id, b.id_hash,
                                b.institution_id, distance))
    findings = face_two_ids(values, p)
    opened = cases.record(uow, findings, now=now)
    return CheckResult(len(values), len(findings), len(opened))
