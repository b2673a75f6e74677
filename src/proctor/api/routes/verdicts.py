"""What the service answers: session verdicts and a learner's standing in a course (CONTRACT §4)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from proctor.api.deps import NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.routes._util import ExtIdPath
from proctor.api.session_auth import SessionReaderDep, require_session
from proctor.domain.errors import NotFound
from proctor.domain.model import Status
from proctor.domain.review import overturned_credit
from proctor.schemas.paperwork import LeaveOut
from proctor.schemas.verdicts import (
    EnrolmentStatusOut,
    ExamWindowOut,
    LessonStatusOut,
    ReasonOut,
    VerdictOut,
    ViolationOut,
)
from proctor.services import makeup
from proctor.services.evaluation import verdict_from_dict
from proctor.services.policies import policy_for
from proctor.services.standing import standing_by_ids
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import study as study_repo

router = APIRouter(prefix="/v1", tags=["verdicts"])


def _at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@router.get("/sessions/{session_id}/verdict", response_model=VerdictOut)
def get_verdict(session_id: str, platform: SessionReaderDep, uow: UowDep,
                settings: SettingsDep) -> VerdictOut:
    """The verdict on a study session, with each violation's evidence and the policy version."""
    require_session(platform, session_id)
    if study_repo.session_of(uow.session, platform.institution_id, session_id) is None:
        raise NotFound(f"unknown session {session_id!r}", field="session_id")
    row = ev_repo.verdict_of(uow.session, session_id)
    if row is None:
        policy = policy_for(settings)
        return VerdictOut(session_id=session_id, status=Status.PENDING, credited_seconds=0,
                          violations=[],
                          policy_id=policy.id, policy_version=policy.version, evaluated_at=None,
                          pending_reasons=["not evaluated yet"])
    result = row.result
    credited = row.credited_seconds if row.status == row.engine_status else (
        0.0 if row.status == Status.INVALID else overturned_credit(verdict_from_dict(result)))
    return VerdictOut(
        session_id=session_id, status=Status(row.status), credited_seconds=round(credited, 3),
        violations=[ViolationOut(rule=v["rule"], check=v.get("check", ""), at=_at(v["at"]),
                                 until=_at(v["until"]), detail=v["detail"],
                                 evidence=v["evidence"])
                    for v in result["violations"]],
        policy_id=row.policy_id, policy_version=row.policy_version, evaluated_at=row.evaluated_at,
        pending_reasons=result.get("pending_reasons", []))


@router.get("/enrolments/{learner_id}/{course_id}", response_model=EnrolmentStatusOut)
def get_enrolment_status(learner_id: ExtIdPath, course_id: ExtIdPath, platform: PlatformDep,
                         uow: UowDep, settings: SettingsDep, now: NowDep) -> EnrolmentStatusOut:
    """Per-lesson status, credited class hours, and whether the learner may sit the offline exam."""
    policy = policy_for(settings)
    st = standing_by_ids(uow.session, institution_id=platform.institution_id, learner_ext=learner_id,
                         course_ext=course_id, policy=policy, settings=settings, today=now.date())
    elig = st.eligibility
    leaves: dict[int, list[LeaveOut]] = {}
    for leave in makeup.leaves_of(uow.session, learner_id=st.learner.id, course_id=st.course.id):
        lesson = next(x.lesson for x in st.lessons if x.lesson.id == leave.lesson_id)
        leaves.setdefault(leave.lesson_id, []).append(LeaveOut(
            id=leave.id, lesson_id=lesson.ext_id, reason=leave.reason,
            recorded_by=leave.recorded_by, recorded_at=leave.recorded_at))
    return EnrolmentStatusOut(
        learner_id=learner_id, course_id=course_id,
        lessons=[LessonStatusOut(lesson_id=x.lesson.ext_id, seq=x.lesson.seq, status=x.state.value,
                                 credited_seconds=round(x.result.credited_seconds, 3),
                                 credited_class_hours=x.result.credited_class_hours,
                                 photos_kept=x.result.photos_kept, reasons=list(x.result.reasons),
                                 superseded_sessions=list(x.result.superseded),
                                 leaves=leaves.get(x.lesson.id, []))
                 for x in st.lessons],
        credited_class_hours=float(elig.credited_class_hours),
        required_class_hours=float(elig.required_class_hours),
        exam_eligible=elig.eligible,
        reasons=[ReasonOut(**r.as_dict()) for r in elig.reasons],
        next_exam_window=ExamWindowOut(**elig.next_exam_window.as_dict()),
        policy_version=f"{policy.id}@{policy.version}")
