"""/demo/player: the example course page and its small platform backend (in-process)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from proctor.api.deps import BodyDep, NowDep, SettingsDep, UowDep, parse_json
from proctor.api.uploads import UploadBodyDep, image_parts, text_part
from proctor.config import PROJECT_ROOT
from proctor.demo_player.media import make_lesson_video
from proctor.domain.errors import MalformedRequest, NotFound
from proctor.domain.ids import check_digit
from proctor.schemas.common import ExtId
from proctor.schemas.registry import CourseIn, EnrolmentIn, LearnerIn, LessonIn
from proctor.schemas.telemetry import ClientInfo, SessionIn
from proctor.services import faces, registration, session_tokens, study_sessions
from proctor.services.policies import policy_for
from proctor.services.standing import eligibility_rules
from proctor.storage.blobs import blob_store_from_settings
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import registry as repo
from proctor.storage.tables import Institution, PlatformKey

HERE = Path(__file__).parent
SDK_DIST = PROJECT_ROOT / "sdk" / "js" / "dist"
INSTITUTION = "proctor 示例培训学校 (demo)"
COUNTY = "410105"
COURSE = "demo-course"
LESSON = "L1"

router = APIRouter(prefix="/demo/player", include_in_schema=False)


@dataclass
class DemoConfig:
    """Where the lesson video is kept and how long it is (tests make it shorter)."""

    video_dir: Path = PROJECT_ROOT / "var" / "demo"
    lesson_seconds: int = 60


def config(request: Request) -> DemoConfig:
    cfg = getattr(request.app.state, "demo_player", None)
    return cfg if isinstance(cfg, DemoConfig) else DemoConfig()


def _video(cfg: DemoConfig) -> Path:
    return make_lesson_video(cfg.video_dir / f"lesson-{cfg.lesson_seconds}s-sound.webm", cfg.lesson_seconds)


@router.get("", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse((HERE / "page.html").read_text(encoding="utf-8"))


@router.get("/sdk/{name}")
def sdk_file(name: str) -> FileResponse:
    if name not in ("proctor-player.iife.js", "proctor-player.js", "proctor-player.iife.js.map",
                    "proctor-player.js.map"):
        raise NotFound(f"no SDK file {name!r}")
    path = SDK_DIST / name
    if not path.exists():
        raise NotFound("the SDK is not built: run `make sdk` (scripts/sdk.sh)")
    return FileResponse(path, media_type="text/javascript" if name.endswith(".js") else None)


@router.get("/lesson.webm")
def lesson_video(request: Request) -> FileResponse:
    return FileResponse(_video(config(request)), media_type="video/webm")


class StartIn(BaseModel):
    learner_id: ExtId | None = None
    real_name: str = Field(default="示例学员", min_length=1, max_length=100)


def _platform_key(uow: UnitOfWork) -> PlatformKey:
    """The demo institution's key (made once): what a platform keeps on its backend."""
    inst = repo.institution_by_name(uow.session, INSTITUTION)
    if inst is not None:
        key = uow.session.scalar(select(PlatformKey).where(PlatformKey.institution_id == inst.id,
                                                           PlatformKey.revoked_at.is_(None)))
        if key is not None:
            return key
    issued = registration.issue_platform_key(uow, institution=INSTITUTION, county_code=COUNTY)
    key = uow.session.get(PlatformKey, issued.key_id)
    assert key is not None
    return key


@router.post("/api/start")
def start(request: Request, body: BodyDep, uow: UowDep, settings: SettingsDep,
          now: NowDep) -> dict[str, Any]:
    """Register the demo course (its one lesson as long as the video) and the learner."""
    data = StartIn.model_validate(parse_json(body or b"{}"))
    cfg = config(request)
    key = _platform_key(uow)
    inst_id = key.institution_id
    policy, elig = policy_for(settings), eligibility_rules(settings)
    # the short demo lesson counts for its share of a class hour (每课时不低于40分钟)
    hours = cfg.lesson_seconds / policy.class_hour_s
    lesson = LessonIn(id=LESSON, seq=1, title="呼叫中心服务基础 (demo)",
                      duration_s=cfg.lesson_seconds, class_hours=hours)
    # an annex-3 occupation trained online (config/occupations.toml row 1, no offline hours)
    registration.upsert_course(uow, institution_id=inst_id, ext_id=COURSE, elig=elig, data=CourseIn(
        title="呼叫中心服务 (demo)", occupation="呼叫中心服务员", required_class_hours=hours,
        lessons=[lesson]))
    learner_id = data.learner_id or f"demo-{secrets.token_hex(4)}"
    if repo.learner(uow.session, inst_id, learner_id) is None:
        first17 = f"{COUNTY}19900307{secrets.randbelow(1000):03d}"
        registration.upsert_learner(uow, institution_id=inst_id, ext_id=learner_id, today=date.today(),
                                    data=LearnerIn(real_name=data.real_name,
                                                   id_number=first17 + check_digit(first17)))
    registration.upsert_enrolment(uow, institution_id=inst_id, learner_ext=learner_id,
                                  course_ext=COURSE, data=EnrolmentIn(class_batch="demo",
                                                                      start_date=date.today()),
                                  policy=policy, elig=elig, actor="demo", now=now)
    status = faces.face_status(uow, institution_id=inst_id, learner_ext_id=learner_id)
    return {"learner_id": learner_id, "enrolled": status.enrolled_at is not None,
            "lesson_seconds": cfg.lesson_seconds}


@router.post("/api/enrol/{learner_id}")
def enrol(request: Request, learner_id: str, body: UploadBodyDep, uow: UowDep,
          settings: SettingsDep, now: NowDep) -> JSONResponse:
    """One enrolment photo, as the platform backend would send it: through the policy's
    `enrolment_sources` like the API's (henan-2021: only with a `reviewed_by` part naming the
    staff member who checked it; else 422 `live_enrolment_required`)."""
    from proctor.services.face_checks import process_enrolment

    images = image_parts(body, request.headers.get("content-type"))
    if len(images) != 1:
        raise MalformedRequest("send exactly one `image` part")
    key = _platform_key(uow)
    store = blob_store_from_settings(settings)
    row = faces.submit_enrolment(
        uow, institution_id=key.institution_id, learner_ext_id=learner_id, data=images[0],
        store=store, now=now, policy=policy_for(settings),
        reviewed_by=text_part(body, request.headers.get("content-type"), "reviewed_by"))
    process_enrolment(uow, enrolment_id=row.id, store=store, policy=policy_for(settings),
                      models_dir=settings.models_dir, now=now)
    if row.status == "rejected":
        return JSONResponse({"enrolled": False, "reasons": list(row.reasons)}, status_code=422)
    return JSONResponse({"enrolled": True})


@router.post("/api/enrol/{learner_id}/liveness")
def open_live_enrolment(learner_id: str, uow: UowDep, settings: SettingsDep,
                        now: NowDep) -> dict[str, Any]:
    """The page's camera enrolment: a live check (the drawn action), as
    `POST /v1/learners/{id}/face/liveness` opens it for a platform."""
    from proctor.services.challenges import LIVENESS_ACTIONS, LIVENESS_FRAMES

    key = _platform_key(uow)
    row, action = faces.open_live_enrolment(uow, institution_id=key.institution_id,
                                            learner_ext_id=learner_id, now=now,
                                            policy=policy_for(settings))
    return {"submission_id": row.id, "action": action, "prompt": LIVENESS_ACTIONS[action],
            "frames": list(LIVENESS_FRAMES)}


@router.post("/api/enrol/{learner_id}/liveness/{submission_id}")
def live_enrol(request: Request, learner_id: str, submission_id: str, body: UploadBodyDep,
               uow: UowDep, settings: SettingsDep, now: NowDep) -> JSONResponse:
    """The burst of the page's live enrolment, judged like the API's."""
    from proctor.services.face_checks import process_enrolment_burst

    key = _platform_key(uow)
    policy = policy_for(settings)
    row, action = faces.awaiting_burst(uow, institution_id=key.institution_id,
                                       learner_ext_id=learner_id, submission_id=submission_id,
                                       policy=policy, now=now)
    images = image_parts(body, request.headers.get("content-type"))
    process_enrolment_burst(uow, row, action, images, store=blob_store_from_settings(settings),
                            policy=policy, models_dir=settings.models_dir, now=now)
    if row.status == "rejected":
        return JSONResponse({"enrolled": False, "reasons": list(row.reasons)}, status_code=422)
    return JSONResponse({"enrolled": row.status == "enrolled", "status": row.status})


@router.post("/api/session/{learner_id}")
def open_session(request: Request, learner_id: str, uow: UowDep, settings: SettingsDep,
                 now: NowDep) -> dict[str, Any]:
    """Open a study session and hand its token (never the platform secret) to the page."""
    key = _platform_key(uow)
    inst = uow.session.get(Institution, key.institution_id)
    assert inst is not None
    client = ClientInfo(user_agent=request.headers.get("user-agent", "")[:500] or None,
                        ip=request.client.host if request.client else None)
    study, *_ = study_sessions.open_session(
        uow, institution_id=inst.id, now=now,
        data=SessionIn(learner_id=learner_id, course_id=COURSE, lesson_id=LESSON, client=client))
    for hook in getattr(request.app.state, "on_session_opened", []):
        hook(uow, study)
    token = session_tokens.mint(uow, key_id=key.key_id, study=study, now=now,
                                ttl_s=settings.session_token_ttl_s)
    return {"session_id": study.id, "token": token.token,
            "expires_at": token.expires_at.isoformat(), "learner_id": learner_id}
