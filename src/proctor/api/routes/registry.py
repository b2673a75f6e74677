"""Registering courses, lessons, learners and enrolments (CONTRACT §2)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from proctor.api.deps import BodyDep, NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.openapi import json_body
from proctor.api.routes._util import ExtIdPath, parse_model
from proctor.domain.errors import NotFound
from proctor.domain.ids import mask_id_number
from proctor.schemas.registry import (
    CourseIn,
    CourseOut,
    EnrolmentIn,
    EnrolmentOut,
    InstitutionOut,
    InstitutionSettingsIn,
    LearnerIn,
    LearnerOut,
    LessonOut,
)
from proctor.services import outbound, registration
from proctor.services.county import exams as county_exams
from proctor.services.county.keys import person_key
from proctor.services.county.persons import person_of
from proctor.services.policies import policy_for
from proctor.services.standing import eligibility_rules
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import Course, Institution, Learner

router = APIRouter(prefix="/v1", tags=["registration"])


def _course_out(course: Course, lessons: list) -> CourseOut:
    return CourseOut(
        id=course.ext_id, title=course.title, occupation=course.occupation,
        required_class_hours=course.required_class_hours, certificate_only=course.certificate_only,
        offline_practical_hours=course.offline_practical_hours,
        lessons=[LessonOut(id=x.ext_id, seq=x.seq, title=x.title, duration_s=x.duration_s,
                           class_hours=x.class_hours) for x in lessons],
    )


def _learner_out(learner: Learner) -> LearnerOut:
    phone = learner.phone
    return LearnerOut(id=learner.ext_id, real_name=learner.real_name,
                      id_number_masked=mask_id_number(learner.id_number),
                      phone_masked=(phone[:3] + "****" + phone[-4:]) if phone and len(phone) >= 8
                      else None)


@router.put("/courses/{course_id}", response_model=CourseOut, openapi_extra=json_body(CourseIn))
def put_course(course_id: ExtIdPath, body: BodyDep, platform: PlatformDep, uow: UowDep,
               settings: SettingsDep) -> CourseOut:
    """Create or update a course and its ordered lessons; annex 3 (docs/paperwork.md): 422
    OCCUPATION_NOT_ONLINE for an occupation not trained online, 422 PRACTICAL_HOURS_PLAN when
    it needs more offline practical hours than `offline_practical_hours` plans."""
    data = parse_model(body, CourseIn)
    course = registration.upsert_course(uow, institution_id=platform.institution_id,
                                        ext_id=course_id, data=data,
                                        elig=eligibility_rules(settings))
    return _course_out(course, repo.lessons_of(uow.session, course.id))


@router.get("/courses/{course_id}", response_model=CourseOut)
def get_course(course_id: ExtIdPath, platform: PlatformDep, uow: UowDep) -> CourseOut:
    """A course with its lessons in order."""
    course = repo.course(uow.session, platform.institution_id, course_id)
    if course is None:
        raise NotFound(f"course {course_id!r} is not registered", field="course_id")
    return _course_out(course, repo.lessons_of(uow.session, course.id))


@router.put("/learners/{learner_id}", response_model=LearnerOut, openapi_extra=json_body(LearnerIn))
def put_learner(learner_id: ExtIdPath, body: BodyDep, platform: PlatformDep, uow: UowDep,
                settings: SettingsDep) -> LearnerOut:
    """Register a real-name learner; the ID number is checked against GB 11643 and masked on output."""
    data = parse_model(body, LearnerIn)
    learner = registration.upsert_learner(uow, institution_id=platform.institution_id,
                                          ext_id=learner_id, data=data, today=date.today(),
                                          person_key=person_key(settings))
    return _learner_out(learner)


@router.get("/learners/{learner_id}", response_model=LearnerOut)
def get_learner(learner_id: ExtIdPath, platform: PlatformDep, uow: UowDep) -> LearnerOut:
    """A learner, with the ID number and phone masked."""
    learner = repo.learner(uow.session, platform.institution_id, learner_id)
    if learner is None:
        raise NotFound(f"learner {learner_id!r} is not registered", field="learner_id")
    return _learner_out(learner)


@router.put("/enrolments/{learner_id}/{course_id}", response_model=EnrolmentOut,
            openapi_extra=json_body(EnrolmentIn))
def put_enrolment(learner_id: ExtIdPath, course_id: ExtIdPath, body: BodyDep, platform: PlatformDep,
                  uow: UowDep, settings: SettingsDep, now: NowDep) -> EnrolmentOut:
    """Enrol a learner in a course (class batch 开班批次 and its start date); 409 `not_eligible`
    when the county's recorded exams forbid a new subsidised class yet (the one-month rule).
    The class opens with its first enrolment under the rules of `PUT /v1/classes/…` (409
    SATISFACTION_RECTIFICATION while the institution is in rectification, 422 CLASS_SIZE over
    80, CLASS_HOUR_SHORT, CERTIFICATE_ONLY_HOURS, OCCUPATION_NOT_ONLINE, PRACTICAL_HOURS_PLAN)."""
    data = parse_model(body, EnrolmentIn)
    cooldown = eligibility_rules(settings).cooldown_months

    def one_month_rule(learner: Learner, start_on: date) -> None:
        county_exams.check_new_class(uow.session, person=person_of(learner, settings),
                                     class_start_on=start_on, cooldown_months=cooldown)

    enrolment, learner, course = registration.upsert_enrolment(
        uow, institution_id=platform.institution_id, learner_ext=learner_id, course_ext=course_id,
        data=data, policy=policy_for(settings), elig=eligibility_rules(settings),
        actor=f"platform:{platform.key_id}", now=now, new_class_check=one_month_rule)
    return EnrolmentOut(learner_id=learner.ext_id, course_id=course.ext_id,
                        class_batch=enrolment.class_batch, start_date=enrolment.start_date,
                        practical_hours=enrolment.practical_hours,
                        last_exam_date=enrolment.last_exam_date)


@router.get("/institution", response_model=InstitutionOut)
async def get_institution(platform: PlatformDep, uow: UowDep) -> InstitutionOut:
    """The institution this key belongs to."""
    inst = await run_in_threadpool(uow.session.get, Institution, platform.institution_id)
    assert inst is not None
    return _institution_out(inst)


def _institution_out(inst: Institution) -> InstitutionOut:
    return InstitutionOut(name=inst.name, county_code=inst.county_code, callback_url=inst.callback_url,
                          allowed_origins=list(inst.allowed_origins or []))


@router.put("/institution", response_model=InstitutionOut,
            openapi_extra=json_body(InstitutionSettingsIn))
def put_institution(request: Request, body: BodyDep, platform: PlatformDep,
                    uow: UowDep) -> InstitutionOut:
    """Register the URL that receives signed verdict callbacks (CONTRACT §4) and the origins
    whose pages may call the browser endpoints with a session token (docs/sdk.md)."""
    data = parse_model(body, InstitutionSettingsIn)
    outbound.check_registration(
        data.callback_url,
        allow_private=request.app.state.settings.callbacks_allow_private_targets)
    inst = uow.session.get(Institution, platform.institution_id)
    assert inst is not None
    inst.callback_url = data.callback_url
    if "allowed_origins" in data.model_fields_set:  # omitted: unchanged
        inst.allowed_origins = sorted(set(data.allowed_origins or []))
        uow.after_commit(request.app.state.browser_origins.forget)
    return _institution_out(inst)
