"""County cases: a signal opens one (with its evidence); a reviewer confirms or dismisses it.

A confirmed case makes the sessions it names invalid in standing (services/standing.py) and
counts in the institution's record (services/county/risk.py). Decisions are audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from proctor.domain.county.signals import Finding
from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.services import audit_log
from proctor.services.scope import Scope
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import county as repo
from proctor.storage.tables import CountyCase, CountyCaseInstitution, User

DECISIONS = {"confirm": "confirmed", "dismiss": "dismissed"}
NOT_FOUND = "没有找到该案件，或不在您的权限范围内。"


_UNKNOWN = object()


def open_or_extend(uow: UnitOfWork, finding: Finding, *, now: datetime,
                   existing: CountyCase | None | object = _UNKNOWN) -> tuple[CountyCase, bool]:
    """The case of a finding: new, or the open one extended with the new evidence. A decided
    case is left as decided (re-running a check never reopens it). ``existing``: the case
    already looked up (None: there is none)."""
    s = uow.session
    case = (repo.case_by_key(s, finding.rule, finding.key) if existing is _UNKNOWN
            else existing)
    assert case is None or isinstance(case, CountyCase)
    if case is not None and case.status != "open":
        return case, False
    created = case is None
    if case is None:
        case = CountyCase(rule=finding.rule, key=finding.key, status="open", opened_at=now)
        s.add(case)
    sessions = sorted(set(case.session_ids or []) | set(finding.session_ids))
    learners = sorted(set(case.learner_ids or []) | set(finding.learner_ids))
    if not created and sessions == sorted(case.session_ids) and learners == sorted(
            case.learner_ids) and case.evidence == finding.evidence:
        return case, False
    case.summary, case.evidence = finding.summary[:500], dict(finding.evidence)
    case.session_ids, case.learner_ids, case.updated_at = sessions, learners, now
    s.flush()
    old = set() if created else set(repo.case_institution_ids(s, case.id))
    repo.set_case_links(s, case, sorted(old | set(finding.institution_ids)), sessions,
                        fresh=created)
    s.flush()
    if created:
        audit_log.append(uow, actor="system", action="county.case.open",
                         subject=f"county_case:{case.id}", at=now,
                         payload={"rule": case.rule, "key": case.key,
                                  "sessions": len(sessions), "learners": len(learners)})
    return case, created


def record(uow: UnitOfWork, findings: Sequence[Finding], *, now: datetime) -> list[CountyCase]:
    """Open or extend the case of every finding; the cases opened."""
    opened = []
    known = repo.cases_by_keys(uow.session, [(f.rule, f.key) for f in findings])
    for finding in findings:
        case, created = open_or_extend(uow, finding, now=now,
                                       existing=known.get((finding.rule, finding.key)))
        if created:
            opened.append(case)
    return opened


def scoped_case(s: Session, scope: Scope, case_id: int) -> CountyCase:
    if scope.role == "institution_staff":
        raise NotFound(NOT_FOUND)
    case = s.get(CountyCase, case_id)
    if case is None:
        raise NotFound(NOT_FOUND)
    inst = repo.cases_in_scope(s, scope.covers(CountyCaseInstitution.institution_id))
    if case.id not in {c.id for c in inst}:
        raise NotFound(NOT_FOUND)
    return case


def decide(uow: UnitOfWork, *, user: User, scope: Scope, case_id: int, decision: str,
           reason: str, now: datetime) -> CountyCase:
    """A reviewer's decision on an open case: confirm (its sessions become invalid) or dismiss."""
    if not scope.can_review:
        raise NotFound(NOT_FOUND)
    case = scoped_case(uow.session, scope, case_id)
    if decision not in DECISIONS:
        raise InvalidInput("请选择“确认违规”或“排除”。", field="decision")
    if not reason.strip():
        raise InvalidInput("请填写复核理由。", field="reason")
    if case.status != "open":
        raise Conflict("该案件已有结论。", field="decision")
    case.status, case.reason = DECISIONS[decision], reason.strip()[:2000]
    case.decided_by, case.decided_at, case.updated_at = user.id, now, now
    uow.session.flush()
    audit_log.append(uow, actor=audit_log.actor_of(user), action=f"county.case.{decision}",
                     subject=f"county_case:{case.id}", at=now,
                     payload={"rule": case.rule, "sessions": len(case.session_ids),
                              "reason": case.reason})
    return case


def case_view(case: CountyCase) -> dict[str, Any]:
    return {"id": case.id, "rule": case.rule, "status": case.status, "summary": case.summary,
            "opened_at": case.opened_at, "sessions": len(case.session_ids),
            "learners": len(case.learner_ids)}
