"""Use case: a county reviewer's decision on a flagged session, and the optional second review.

Which decisions apply and where they lead is the domain's (proctor.domain.review). Each decision
sets the verdict's status (reviewed=True, so re-evaluation keeps it) and lands in the
hash-chained audit log; what follows a changed status (a callback to the platform, the learner's
later lessons judged again) is services.verdict_flow's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from proctor.config import Settings
from proctor.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.domain.policy import Policy
from proctor.domain.review import (
    MAX_REASON,
    NEEDS_REASON,
    Decision,
    PastDecision,
    ReviewState,
    Stage,
    status_after,
)
from proctor.domain.review import review_state as _review_state
from proctor.services import audit_log, verdict_flow
from proctor.services.scope import Scope
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import (
    Institution,
    ReviewDecision,
    SessionVerdict,
    StudySession,
    User,
)


def history(uow: UnitOfWork, session_id: str) -> list[ReviewDecision]:
    return list(uow.session.scalars(select(ReviewDecision)
                                    .where(ReviewDecision.session_id == session_id)
                                    .order_by(ReviewDecision.created_at, ReviewDecision.id)))


def review_state(verdict: SessionVerdict | None, decisions: list[ReviewDecision],
                 scope: Scope) -> ReviewState:
    """Which form ``scope``'s reviewer gets for the stored verdict (domain.review decides)."""
    return _review_state(
        status=verdict.status if verdict is not None else None,
        engine_status=verdict.engine_status if verdict is not None else None,
        reviewed=bool(verdict is not None and verdict.reviewed),
        history=[PastDecision(d.reviewer_id, d.decision) for d in decisions],
        reviewer_id=scope.user_id, can_review=scope.can_review)


def decide(uow: UnitOfWork, *, user: User, session_id: str, decision: str, reason: str,
           settings: Settings, policy: Policy, now: datetime) -> ReviewDecision:
    """Record a decision; NotFound outside the reviewer's scope, Conflict if it doesn't apply."""
    s = uow.session
    scope = Scope.of(user)
    study = s.get(StudySession, session_id)
    inst = s.get(Institution, study.institution_id) if study is not None else None
    if study is None or inst is None or not scope.covers_institution(inst):
        raise NotFound("该会话不存在或不在您的管辖范围内")
    if not scope.can_review:
        raise Forbidden("当前账号不能作出复核结论")
    verdict = s.scalar(select(SessionVerdict).where(SessionVerdict.session_id == session_id)
                       .with_for_update())
    state = review_state(verdict, history(uow, session_id), scope)
    if decision not in state.decisions:
        raise Conflict(state.closed_reason or "该复核结论不适用于当前状态", field="decision")
    chosen = Decision(decision)
    reason = reason.strip()
    if chosen in NEEDS_REASON and not reason:
        raise InvalidInput("改判或驳回改判时必须写明理由", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"理由不能超过 {MAX_REASON} 字", field="reason")
    assert verdict is not None
    before = verdict.status
    after = status_after(chosen, second_review_for_overturn=settings.second_review_for_overturn)
    verdict.status, verdict.reviewed = after, True
    row = ReviewDecision(session_id=session_id, reviewer_id=user.id, decision=decision,
                         stage=Stage.FIRST if state.mode == Stage.FIRST else Stage.SECOND,
                         reason=reason or None, created_at=now)
    s.add(row)
    s.flush()
    audit_log.append(uow, actor=audit_log.actor_of(user), action=f"review.{decision}",
                     subject=f"session:{session_id}", at=now,
                     payload={"from": before, "to": after, "reason": reason, "stage": row.stage,
                              "decision_id": row.id})
    verdict_flow.after_review(uow, session_id=session_id, before=before, after=after,
                              settings=settings, policy=policy, now=now)
    return row
