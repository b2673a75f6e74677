"""Use case: a county reviewer's decision on a flagged session, and the optional second review.

First review of a session the rules judged invalid: `confirm_invalid`, or `overturn` with a
written reason. With `second_review_for_overturn`, an overturn leaves the verdict `under_review`
until a different reviewer decides `approve_overturn` (valid) or `reject_overturn` (invalid,
with a reason). Each decision sets the verdict's status (reviewed=True, so re-evaluation keeps
it), lands in the hash-chained audit log, and owes the platform a callback. Later lessons of the
learner are judged again: LESSON_ORDER depends on this lesson's standing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from proctor.config import Settings
from proctor.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from proctor.domain.policy import Policy
from proctor.services import audit_log, callbacks
from proctor.services.evaluation import later_sessions
from proctor.services.scope import Scope
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import (
    Institution,
    ReviewDecision,
    SessionVerdict,
    StudySession,
    User,
)

FIRST = ("confirm_invalid", "overturn")
SECOND = ("approve_overturn", "reject_overturn")
NEEDS_REASON = frozenset({"overturn", "reject_overturn"})
MAX_REASON = 2000


@dataclass(frozen=True)
class ReviewState:
    """Which form a reviewer gets for a session (None: no form) and why not."""

    mode: str | None
    closed_reason: str | None


def history(uow: UnitOfWork, session_id: str) -> list[ReviewDecision]:
    return list(uow.session.scalars(select(ReviewDecision)
                                    .where(ReviewDecision.session_id == session_id)
                                    .order_by(ReviewDecision.created_at, ReviewDecision.id)))


def review_state(verdict: SessionVerdict | None, decisions: list[ReviewDecision],
                 scope: Scope) -> ReviewState:
    if not scope.can_review:
        return ReviewState(None, "当前账号只能查看，不能作出复核结论。")
    if verdict is None or verdict.status == "pending":
        return ReviewState(None, "该会话尚未评估完成。")
    if verdict.status == "under_review":
        overturner = next((d.reviewer_id for d in reversed(decisions) if d.decision == "overturn"),
                          None)
        if overturner == scope.user_id:
            return ReviewState(None, "改判须由另一名复核员进行二次复核。")
        return ReviewState("second", None)
    if verdict.engine_status != "invalid":
        return ReviewState(None, "该会话判定有效，无需复核。")
    if verdict.reviewed:
        return ReviewState(None, "该会话已复核完毕。")
    return ReviewState("first", None)


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
    allowed = FIRST if state.mode == "first" else SECOND if state.mode == "second" else ()
    if decision not in allowed:
        raise Conflict(state.closed_reason or "该复核结论不适用于当前状态", field="decision")
    reason = reason.strip()
    if decision in NEEDS_REASON and not reason:
        raise InvalidInput("改判或驳回改判时必须写明理由", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"理由不能超过 {MAX_REASON} 字", field="reason")
    assert verdict is not None
    before = verdict.status
    after = {"confirm_invalid": "invalid",
             "overturn": "under_review" if settings.second_review_for_overturn else "valid",
             "approve_overturn": "valid", "reject_overturn": "invalid"}[decision]
    verdict.status, verdict.reviewed = after, True
    row = ReviewDecision(session_id=session_id, reviewer_id=user.id, decision=decision,
                         stage="first" if state.mode == "first" else "second",
                         reason=reason or None, created_at=now)
    s.add(row)
    s.flush()
    audit_log.append(uow, actor=audit_log.actor_of(user), action=f"review.{decision}",
                     subject=f"session:{session_id}", at=now,
                     payload={"from": before, "to": after, "reason": reason, "stage": row.stage,
                              "decision_id": row.id})
    if after != before:
        callbacks.verdict_changed(uow, session_id=session_id, previous_status=before,
                                  settings=settings, policy=policy, now=now)
        _rejudge_later_lessons(uow, study, now)
    return row


def _rejudge_later_lessons(uow: UnitOfWork, study: StudySession, now: datetime) -> None:
    from proctor.workers.tasks import evaluate_session_task

    for sid in later_sessions(uow.session, study):
        uow.after_commit(lambda sid=sid: evaluate_session_task.delay(sid, now.isoformat()))
