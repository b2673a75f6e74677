"""Classes (班): opening under the plan's rules, the satisfaction survey and its gate."""

from __future__ import annotations

from fastapi import APIRouter

from proctor.api.deps import BodyDep, NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.openapi import json_body
from proctor.api.routes._util import ExtIdPath, parse_model
from proctor.schemas.paperwork import (
    ClassIn,
    ClassOut,
    RectificationOut,
    SatisfactionOut,
    SurveyIn,
)
from proctor.services import classes
from proctor.services.policies import policy_for
from proctor.services.standing import eligibility_rules
from proctor.storage.tables import Course, TrainingClass

router = APIRouter(prefix="/v1", tags=["paperwork"])


def _class_out(uow: UowDep, cls: TrainingClass) -> ClassOut:
    course = uow.session.get(Course, cls.course_id)
    assert course is not None
    return ClassOut(course_id=course.ext_id, batch=cls.batch, opens_on=cls.opens_on, size=cls.size,
                    enrolled=classes.enrolled(uow.session, cls.course_id, cls.batch))


@router.put("/classes/{course_id}/{batch}", response_model=ClassOut, openapi_extra=json_body(ClassIn))
def put_class(course_id: ExtIdPath, batch: ExtIdPath, body: BodyDep, platform: PlatformDep,
              uow: UowDep, settings: SettingsDep, now: NowDep) -> ClassOut:
    """Open a class (开班) of a course: 422 naming the rule over 80 learners, under 40 minutes per
    class hour or a certificate-only course under 40 class hours; 409 SATISFACTION_RECTIFICATION
    while the institution is in a rectification period."""
    data = parse_model(body, ClassIn)
    cls = classes.open_class(uow, institution_id=platform.institution_id, course_ext=course_id,
                             batch=batch, opens_on=data.opens_on, size=data.size,
                             policy=policy_for(settings), elig=eligibility_rules(settings),
                             actor=f"platform:{platform.key_id}", now=now)
    return _class_out(uow, cls)


@router.post("/classes/{course_id}/{batch}/survey", response_model=SatisfactionOut,
             openapi_extra=json_body(SurveyIn))
def post_survey(course_id: ExtIdPath, batch: ExtIdPath, body: BodyDep, platform: PlatformDep,
                uow: UowDep, settings: SettingsDep, now: NowDep) -> SatisfactionOut:
    """The learners' satisfaction answers after training (one per learner, kept anonymous: the
    institution sees the rates only). A class rate below the policy's minimum (85 %) starts a
    one-month rectification period."""
    data = parse_model(body, SurveyIn)
    policy = policy_for(settings)
    result = classes.submit_answers(uow, institution_id=platform.institution_id,
                                    course_ext=course_id, batch=batch, answers=data.answers,
                                    settings=settings, policy=policy, now=now)
    return _satisfaction_out(course_id, result, policy.satisfaction_min_rate)


@router.get("/classes/{course_id}/{batch}/satisfaction", response_model=SatisfactionOut)
def get_satisfaction(course_id: ExtIdPath, batch: ExtIdPath, platform: PlatformDep, uow: UowDep,
                     settings: SettingsDep, now: NowDep) -> SatisfactionOut:
    """The class's and the institution's satisfaction rates, and any rectification period."""
    cls = classes.get_class(uow.session, institution_id=platform.institution_id,
                            course_ext=course_id, batch=batch)
    return _satisfaction_out(course_id, classes.satisfaction(uow.session, cls, now.date()),
                             policy_for(settings).satisfaction_min_rate)


def _satisfaction_out(course_id: str, r: classes.Satisfaction, min_rate: float) -> SatisfactionOut:
    rect = r.rectification
    return SatisfactionOut(
        course_id=course_id, batch=r.cls.batch, responses=r.responses, satisfied=r.satisfied,
        rate=r.rate, institution_rate=r.institution_rate, min_rate=min_rate,
        rectification=RectificationOut(id=rect.id, rate=rect.rate, started_at=rect.started_at,
                                       ends_on=rect.ends_on, ended_at=rect.ended_at)
        if rect is not None else None)
