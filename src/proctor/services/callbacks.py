"""Use case: signed callbacks to platforms (CONTRACT §4) through an outbox.

When a verdict's status or a learner's exam eligibility changes, a Callback row is written in
the same transaction as the change (so neither is lost without the other) and its delivery is
enqueued after the commit. Delivery POSTs the JSON payload signed the Standard Webhooks way
with the institution's newest active platform secret; the Callback id is the `webhook-id`, the
same on every retry, so a platform can drop duplicates. Failures are retried with exponential
backoff and jitter; after `callback_max_attempts` the callback is dead (a dead letter) until an
administrator retries it from the portal.

Payload: {"type": "verdict.changed" | "eligibility.changed", "timestamp": RFC 3339, "data": {…}}.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from standardwebhooks import Webhook

from proctor.config import Settings
from proctor.domain.backoff import backoff_delay
from proctor.domain.errors import Conflict, NotFound
from proctor.domain.model import CallbackStatus
from proctor.domain.policy import Policy
from proctor.services import audit_log, jobs, messages, outbound
from proctor.services.standing import standing
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import (
    Callback,
    Course,
    Institution,
    Learner,
    Lesson,
    PlatformKey,
    SessionVerdict,
    StudySession,
    User,
)

VERDICT_CHANGED = "verdict.changed"
ELIGIBILITY_CHANGED = "eligibility.changed"
BACKOFF_CAP_S = 6 * 3600.0
# A pending callback this long past its retry time lost its Celery retry (a worker died): sweep it.
SWEEP_GRACE_S = 300.0


def _outbox(uow: UnitOfWork, inst: Institution, *, kind: str, subject: str,
            data: dict[str, Any], now: datetime) -> Callback:
    assert inst.callback_url is not None
    cb = Callback(id="msg_" + uuid.uuid4().hex, institution_id=inst.id, kind=kind, subject=subject,
                  payload={"type": kind, "timestamp": now.isoformat(timespec="milliseconds"),
                           "data": data},
                  url=inst.callback_url, status=CallbackStatus.PENDING, attempts=0, next_attempt_at=now,
                  created_at=now)
    uow.session.add(cb)
    uow.enqueue(jobs.DELIVER_CALLBACK, cb.id)
    return cb


def _last_eligibility(uow: UnitOfWork, subject: str) -> bool:
    """What the platform was last told (not eligible until told otherwise)."""
    last = uow.session.scalar(select(Callback).where(Callback.kind == ELIGIBILITY_CHANGED,
                                                     Callback.subject == subject)
                              .order_by(Callback.created_at.desc()).limit(1))
    return bool(last.payload["data"]["exam_eligible"]) if last is not None else False


def verdict_changed(uow: UnitOfWork, *, session_id: str, previous_status: str | None,
                    settings: Settings, policy: Policy, now: datetime) -> list[Callback]:
    """Owe the platform a verdict callback and, if the learner's eligibility flipped, that too."""
    s = uow.session
    study = s.get(StudySession, session_id)
    verdict = s.get(SessionVerdict, session_id)
    if study is None or verdict is None:
        return []
    inst = s.get(Institution, study.institution_id)
    if inst is None or not inst.callback_url:
        return []  # the platform registered no URL: nothing to owe
    learner = s.get(Learner, study.learner_id)
    course = s.get(Course, study.course_id)
    lesson = s.get(Lesson, study.lesson_id)
    assert learner is not None and course is not None and lesson is not None
    out = [_outbox(uow, inst, kind=VERDICT_CHANGED, subject=f"session:{session_id}", now=now,
                   data={"session_id": session_id, "learner_id": learner.ext_id,
                         "course_id": course.ext_id, "lesson_id": lesson.ext_id,
                         "status": verdict.status, "previous_status": previous_status,
                         "reviewed": verdict.reviewed, "rules": list(verdict.rules or []),
                         "policy_version": verdict.policy_version,
                         # added: the evidence per kind, codes and parameters for machines and
                         # the Chinese a reviewer reads (the portal's message catalogue)
                         "violations": messages.grouped(
                             (verdict.result or {}).get("violations", []), policy)})]
    out.extend(eligibility_changed(uow, inst=inst, learner=learner, course=course,
                                   settings=settings, policy=policy, now=now))
    s.flush()
    return out


def eligibility_changed(uow: UnitOfWork, *, inst: Institution, learner: Learner, course: Course,
                        settings: Settings, policy: Policy, now: datetime) -> list[Callback]:
    """Owe the platform an eligibility callback if the learner's exam eligibility flipped."""
    if not inst.callback_url:
        return []
    st = standing(uow.session, learner=learner, course=course, policy=policy, settings=settings,
                  today=now.date())
    subject = f"enrolment:{learner.ext_id}/{course.ext_id}"
    eligible = st.eligibility.eligible
    if eligible == _last_eligibility(uow, subject):
        return []
    return [_outbox(uow, inst, kind=ELIGIBILITY_CHANGED, subject=subject, now=now, data={
        "learner_id": learner.ext_id, "course_id": course.ext_id, "exam_eligible": eligible,
        "credited_class_hours": float(st.eligibility.credited_class_hours),
        "required_class_hours": float(st.eligibility.required_class_hours),
        "reasons": [r.as_dict() for r in st.eligibility.reasons],
        "next_exam_window": st.eligibility.next_exam_window.as_dict()})]


# --- delivery ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Attempt:
    callback_id: str
    status: str  # delivered | pending | dead | gone
    retry_in_s: float | None = None


def _signing_key(uow: UnitOfWork, institution_id: int) -> PlatformKey | None:
    return uow.session.scalar(select(PlatformKey)
                              .where(PlatformKey.institution_id == institution_id,
                                     PlatformKey.revoked_at.is_(None))
                              .order_by(PlatformKey.created_at.desc()).limit(1))


def signed_request(cb: Callback, key: PlatformKey, now: datetime) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(cb.payload, ensure_ascii=False, separators=(",", ":")).encode()
    signature = Webhook(key.secret).sign(cb.id, now, body.decode())
    return body, {"content-type": "application/json", "webhook-id": cb.id,
                  "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature,
                  "x-proctor-key": key.key_id, "user-agent": "proctor-callbacks/1"}


def deliver_once(uow: UnitOfWork, *, callback_id: str, settings: Settings, now: datetime,
                 draw: float | None = None) -> Attempt:
    """One delivery attempt; idempotent for callbacks already delivered or dead."""
    s = uow.session
    cb = s.scalar(select(Callback).where(Callback.id == callback_id).with_for_update())
    if cb is None:
        return Attempt(callback_id, "gone")
    if cb.status != CallbackStatus.PENDING:
        return Attempt(cb.id, cb.status)
    cb.attempts += 1
    key = _signing_key(uow, cb.institution_id)
    error: str | None = None
    if key is None:
        error, cb.last_status_code = "机构没有有效的平台密钥，无法签名", None
    else:
        body, headers = signed_request(cb, key, now)
        cb.last_status_code = None
        try:
            # again at delivery, after DNS resolution: the name may point inside by now; and
            # the connection goes to the address checked (no second lookup to rebind)
            addresses = outbound.check_target(
                cb.url, allow_private=settings.callbacks_allow_private_targets)
            response = outbound.pinned_post(cb.url, addresses, content=body, headers=headers,
                                            timeout=settings.callback_timeout_s)
            cb.last_status_code = response.status_code
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
        except outbound.RefusedTarget as exc:
            error = f"refused target: {exc}"[:500]
        except Exception as exc:  # every failure counts toward the dead letter, never a crash
            error = f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__
    cb.last_error = error
    if error is None:
        cb.status, cb.delivered_at, cb.next_attempt_at = CallbackStatus.DELIVERED, now, None
        s.flush()
        return Attempt(cb.id, CallbackStatus.DELIVERED)
    if cb.attempts >= settings.callback_max_attempts:
        cb.status, cb.next_attempt_at = CallbackStatus.DEAD, None
        audit_log.append(uow, actor="system", action="callback.dead_letter", subject=cb.subject,
                         at=now, payload={"callback": cb.id, "attempts": cb.attempts,
                                          "last_error": error[:200]})
        s.flush()
        return Attempt(cb.id, CallbackStatus.DEAD)
    delay = backoff_delay(cb.attempts, base_s=settings.callback_backoff_base_s,
                          cap_s=BACKOFF_CAP_S, draw=random.random() if draw is None else draw)
    cb.next_attempt_at = now + timedelta(seconds=delay)
    s.flush()
    return Attempt(cb.id, CallbackStatus.PENDING, delay)


def due_callbacks(uow: UnitOfWork, *, now: datetime, grace_s: float = SWEEP_GRACE_S,
                  limit: int = 200) -> list[str]:
    """Pending callbacks overdue by more than ``grace_s`` (their scheduled retry never ran)."""
    cutoff = now - timedelta(seconds=grace_s)
    return list(uow.session.scalars(select(Callback.id)
                                    .where(Callback.status == CallbackStatus.PENDING,
                                           Callback.next_attempt_at <= cutoff)
                                    .order_by(Callback.next_attempt_at).limit(limit)))


def retry_dead_letter(uow: UnitOfWork, *, callback_id: str, user: User, now: datetime) -> Callback:
    """An administrator sends a dead letter again (from scratch: attempts start over)."""
    cb = uow.session.scalar(select(Callback).where(Callback.id == callback_id).with_for_update())
    if cb is None:
        raise NotFound("没有这条回调")
    if cb.status != CallbackStatus.DEAD:
        raise Conflict("该回调不是失败状态，无需重发")
    cb.status, cb.attempts, cb.next_attempt_at, cb.last_error = CallbackStatus.PENDING, 0, now, None
    audit_log.append(uow, actor=audit_log.actor_of(user), action="callback.retry",
                     subject=cb.subject, at=now, payload={"callback": cb.id, "url": cb.url})
    uow.enqueue(jobs.DELIVER_CALLBACK, cb.id)
    uow.session.flush()
    return cb


def dead_letters(uow: UnitOfWork, *, offset: int, limit: int) -> tuple[list[Callback], int]:
    from sqlalchemy import func

    s = uow.session
    total = int(s.scalar(select(func.count()).select_from(Callback)
                         .where(Callback.status == CallbackStatus.DEAD)) or 0)
    rows = list(s.scalars(select(Callback).where(Callback.status == CallbackStatus.DEAD)
                          .order_by(Callback.created_at.desc()).offset(offset).limit(limit)))
    return rows, total
