"""Leaves (请假) for make-up study (补学): recorded by the institution's platform."""

from __future__ import annotations

from fastapi import APIRouter

from proctor.api.deps import BodyDep, NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.openapi import json_body
from proctor.api.routes._util import parse_model
from proctor.schemas.paperwork import LeaveIn, LeaveOut
from proctor.services import makeup
from proctor.services.policies import policy_for

router = APIRouter(prefix="/v1", tags=["paperwork"])


@router.post("/leaves", response_model=LeaveOut, status_code=201, openapi_extra=json_body(LeaveIn))
def post_leave(body: BodyDep, platform: PlatformDep, uow: UowDep, settings: SettingsDep,
               now: NowDep) -> LeaveOut:
    """Record a written leave for one lesson; with `makeup = "after_leave"` the learner may study
    it again, and the invalid sitting stays as evidence."""
    data = parse_model(body, LeaveIn)
    leave, lesson = makeup.record_leave(
        uow, institution_id=platform.institution_id, learner_ext=data.learner_id,
        course_ext=data.course_id, lesson_ext=data.lesson_id, reason=data.reason,
        actor=f"platform:{platform.key_id}", settings=settings, policy=policy_for(settings),
        now=now)
    return LeaveOut(id=leave.id, lesson_id=lesson.ext_id, reason=leave.reason,
                    recorded_by=leave.recorded_by, recorded_at=leave.recorded_at)
