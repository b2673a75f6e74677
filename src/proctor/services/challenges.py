"""Use cases: drawing a session's challenge moments, issuing the due one, taking answers.

The moments are drawn with `secrets` when the session opens and kept on the session, so the
platform can neither predict them nor make a challenge up afterwards.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from proctor.domain.engine import covered_by_sittings, playback_seconds
from proctor.domain.errors import Conflict, NotFound
from proctor.domain.model import Outcome, SessionState, Status
from proctor.domain.policy import Policy
from proctor.domain.review import standing_status
from proctor.domain.scheduler import ChallengePlan, PlannedChallenge, due_challenge, plan_session
from proctor.services.evaluation import domain_event_columns, domain_lesson, events_of
from proctor.services.evidence_reads import Reads, domain_challenge
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import Challenge, Lesson, StudySession

LIVENESS_ACTIONS = {
    "blink": "请眨眨眼 (please blink)",
    "turn_left": "请缓慢向左转头 (please turn your head left)",
    "turn_right": "请缓慢向右转头 (please turn your head right)",
    "open_mouth": "请张开嘴 (please open your mouth)",
}
PHOTO_PROMPT = "请正对摄像头，系统将随机抓拍一张照片 (look at the camera: a photo will be taken)"
LIVENESS_FRAMES = (5, 10)  # a liveness answer is a burst of this many frames
# the spacing asked of a burst: 10 frames span 1.35 s, and a blink (eyes shut ~150-300 ms) falls
# on at least one frame
LIVENESS_FRAME_INTERVAL_MS = 150


def plan_to_json(plan: ChallengePlan) -> dict[str, Any]:
    return {"horizon_s": plan.horizon_s,
            "moments": [[m.index, m.kind, m.at_playback_s] for m in plan.moments]}


def plan_from_json(data: dict[str, Any]) -> ChallengePlan:
    return ChallengePlan(tuple(PlannedChallenge(int(i), str(k), float(at))
                               for i, k, at in data["moments"]), float(data["horizon_s"]))


def _covered_before(uow: UnitOfWork, study: StudySession, lesson: Lesson, policy: Policy
                    ) -> float:
    """Media of the lesson the learner's earlier sittings of it cover (those not standing
    invalid; one not judged yet counts: better a photo drawn early than past the end)."""
    reads = Reads(uow.session)
    earlier = [x for x in reads.sessions_of_learner(study.learner_id, study.course_id)
               if x.lesson_id == study.lesson_id and x.id != study.id
               and x.started_at <= study.started_at]
    verdicts = reads.verdicts([x.id for x in earlier])
    kept = [x.id for x in earlier if x.id not in verdicts
            or standing_status(verdicts[x.id].status) != Status.INVALID]
    if not kept:
        return 0.0
    events = reads.event_columns(kept)
    return covered_by_sittings([domain_event_columns(events[sid]) for sid in kept],
                               domain_lesson(lesson), policy)


def draw_plan(uow: UnitOfWork, study: StudySession, policy: Policy) -> None:
    """At session open: draw the moments with a cryptographic random source, over what is
    left of the lesson after the learner's earlier sittings (``covered_s``)."""
    lesson = uow.session.get(Lesson, study.lesson_id)
    assert lesson is not None
    plan = plan_session(secrets.SystemRandom(), policy, domain_lesson(lesson),
                        covered_s=_covered_before(uow, study, lesson, policy))
    study.challenge_plan = plan_to_json(plan)


def current_challenge(uow: UnitOfWork, *, institution_id: int, session_id: str, policy: Policy,
                      now: datetime) -> Challenge | None:
    """The open challenge, or a new one if one is due now, or None."""
    s = uow.session
    study = study_repo.session_of(s, institution_id, session_id)
    if study is None:
        raise NotFound(f"unknown session {session_id!r}", field="session_id")
    if study.status != SessionState.OPEN:
        return None
    ev_repo.expire_overdue(s, session_id, now)
    issued = ev_repo.challenges_of(s, session_id)
    open_ = [c for c in issued if c.outcome == Outcome.PENDING and c.expires_at >= now]
    if open_:
        return open_[-1]
    if study.challenge_plan is None:
        draw_plan(uow, study, policy)
    plan = plan_from_json(study.challenge_plan or {})
    played = playback_seconds(events_of(s, session_id), policy)
    due = due_challenge(plan, [domain_challenge(c) for c in issued], played, now.timestamp(), policy)
    if due is None:
        return None
    challenge = Challenge(
        id=str(uuid.uuid4()), session_id=session_id, institution_id=institution_id,
        kind=due.kind, plan_index=due.plan_index, issued_playback_s=played, issued_at=now,
        expires_at=now + timedelta(seconds=policy.challenge_expiry_s), outcome=Outcome.PENDING,
        detail={"reason": due.reason})
    if due.kind == "confirm":
        code = f"{secrets.randbelow(10_000):04d}"
        challenge.expected_answer = code
        challenge.prompt = f"请输入 {code} 继续学习"  # one language; the code is its own field
    elif due.kind == "liveness":
        challenge.action = secrets.choice(sorted(LIVENESS_ACTIONS))
        challenge.prompt = LIVENESS_ACTIONS[challenge.action]
    else:
        challenge.prompt = PHOTO_PROMPT
    s.add(challenge)
    s.flush()
    return challenge


def answer_confirm(uow: UnitOfWork, *, institution_id: int, challenge_id: str, answer: str,
                   answered_at: datetime, now: datetime) -> Challenge:
    """A `confirm` challenge's answer: passed when the code matches and it came in time.

    In time means by the server's receive time (``now``); the client's ``answered_at`` is kept
    as evidence only, never a reason to refuse or fail (a PC clock 7 minutes fast is honest)."""
    challenge = ev_repo.challenge_of(uow.session, institution_id, challenge_id, for_update=True)
    if challenge is None:
        raise NotFound(f"unknown challenge {challenge_id!r}", field="challenge_id")
    if challenge.kind != "confirm":
        raise Conflict(f"a {challenge.kind} challenge is answered with photos: "
                       f"POST /v1/challenges/{challenge_id}/photo", field="challenge_id")
    if challenge.outcome != Outcome.PENDING:
        raise Conflict(f"challenge was already answered ({challenge.outcome})", field="challenge_id")
    challenge.answer, challenge.answered_at, challenge.received_at = answer, answered_at, now
    if now > challenge.expires_at:
        challenge.outcome = Outcome.EXPIRED
    else:
        challenge.outcome = (Outcome.PASSED if answer.strip() == challenge.expected_answer
                             else Outcome.FAILED)
    uow.session.flush()
    return challenge

