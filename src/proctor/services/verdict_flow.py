"""Use case: what follows a verdict that was judged or decided — the one place that decides it.

Called alike by the evaluation worker (`after_evaluation`), by re-evaluation (`after_evaluation`
with ``batch=True``) and by a reviewer's decision (`after_review`), inside their transaction.
Follow-up work is enqueued by name through the unit of work (proctor.services.jobs), so it is
sent only once the transaction commits, and this module never imports the tasks.

When the status that stands changed:
- the platform is owed a callback (and one for eligibility, if that flipped): services.callbacks;
- the learner's later lessons of the course are judged again (LESSON_ORDER reads this lesson's
  standing), unless they are judged in the same batch anyway (re-evaluation of a course);
- a final verdict the rules changed (valid <-> invalid, e.g. under a new policy) is written to
  the audit log; a reviewer's decision is audited by the review with its reason.
After any judgement:
- sessions this verdict says overlapped it (MULTI_WINDOW) whose own verdict does not say so yet
  are judged again (once: they will then see the overlap themselves);
- a pending verdict the clock alone can settle (events in flight, an open challenge) is judged
  again at its recheck time (with a broker; in-process the embedded beat's round does it).
"""

from __future__ import annotations

from datetime import datetime

from proctor.config import Settings
from proctor.domain.model import FINAL_STATUSES
from proctor.domain.policy import Policy
from proctor.services import audit_log, callbacks, jobs
from proctor.services.evaluation import Evaluated, later_sessions
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories.evidence import verdicts_for
from proctor.storage.tables import StudySession

MULTI_WINDOW = "MULTI_WINDOW"


def after_evaluation(uow: UnitOfWork, done: Evaluated, *, settings: Settings, policy: Policy,
                     now: datetime, batch: bool = False) -> None:
    """The rules judged ``done.session_id`` at ``now``. ``batch``: the learner's other sessions
    of the course are being judged in the same run (re-evaluation), so later lessons are not
    enqueued again."""
    if done.changed:
        _standing_changed(uow, done.session_id, done.previous_status, done.status,
                          settings=settings, policy=policy, now=now, later_lessons=not batch)
        if done.previous_status in FINAL_STATUSES and done.status in FINAL_STATUSES:
            audit_log.append(uow, actor="system", action="verdict.rejudged",
                             subject=f"session:{done.session_id}", at=now,
                             payload={"from": done.previous_status, "to": done.status,
                                      "policy": f"{done.verdict.policy_id}@"
                                                f"{done.verdict.policy_version}",
                                      "rules": sorted(done.verdict.rules_broken)})
    for other in overlap_partners(uow, done):
        uow.enqueue(jobs.EVALUATE_SESSION, other, now.isoformat())
    if done.recheck_at is not None:
        uow.enqueue(jobs.EVALUATE_SESSION, done.session_id, done.recheck_at.isoformat(),
                    countdown_s=max((done.recheck_at - now).total_seconds(), 0.0))


def after_review(uow: UnitOfWork, *, session_id: str, before: str | None, after: str,
                 settings: Settings, policy: Policy, now: datetime) -> None:
    """A reviewer's decision moved the standing status from ``before`` to ``after``."""
    if after != before:
        _standing_changed(uow, session_id, before, after, settings=settings, policy=policy,
                          now=now, later_lessons=True)


def _standing_changed(uow: UnitOfWork, session_id: str, before: str | None, after: str, *,
                      settings: Settings, policy: Policy, now: datetime,
                      later_lessons: bool) -> None:
    callbacks.verdict_changed(uow, session_id=session_id, previous_status=before,
                              settings=settings, policy=policy, now=now)
    if later_lessons:
        study = uow.session.get(StudySession, session_id)
        assert study is not None
        for sid in later_sessions(uow.session, study):
            uow.enqueue(jobs.EVALUATE_SESSION, sid, now.isoformat())


def overlap_partners(uow: UnitOfWork, done: Evaluated) -> list[str]:
    """Sessions this verdict says overlapped it whose own stored verdict does not say so yet."""
    partners = sorted({e["other_session"] for v in done.verdict.violations if v.rule == MULTI_WINDOW
                       for e in v.evidence if "other_session" in e})
    stored = verdicts_for(uow.session, partners)
    return [sid for sid in partners
            if sid in stored and MULTI_WINDOW not in (stored[sid].rules or [])]
