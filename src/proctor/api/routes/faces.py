"""Enrolment photos and challenge photos (CONTRACT §2, §3), multipart and signed.

With a broker the face pipeline runs on the `vision` queue (this process never loads dlib)
and uploads answer 202 `processing`; without one (the embedded default) the same service call
runs in the request and the answer carries the outcome. See docs/API.md, "Faces".
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from proctor.api.deps import NowDep, PlatformDep, SettingsDep, UowDep
from proctor.api.routes._util import ExtIdPath
from proctor.api.session_auth import SessionCallerDep, UploadSessionCallerDep, require_challenge
from proctor.api.uploads import UploadBodyDep, UploadPlatformDep, image_parts, text_part
from proctor.config import Settings
from proctor.domain.errors import MalformedRequest, NotFound
from proctor.schemas.faces import (
    ChallengePhotosOut,
    ChallengeProcessingOut,
    FaceLivenessCheckOut,
    FaceProcessingOut,
    FaceStatusOut,
    PhotoOut,
)
from proctor.services import faces, jobs, photos
from proctor.services.policies import policy_for
from proctor.storage.blobs import blob_store_from_settings
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import faces as face_repo
from proctor.storage.tables import Challenge, FaceEnrolment, Photo

router = APIRouter(prefix="/v1", tags=["faces"])

_IMAGE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"],
    "properties": {"image": {"type": "array", "items": {"type": "string", "format": "binary"}}},
}}}}}


def in_process(settings: Settings) -> bool:
    """No broker: vision work runs in the request (the embedded default)."""
    return not settings.broker_url


def _one_image(request: Request, body: bytes) -> bytes:
    images = image_parts(body, request.headers.get("content-type"))
    if len(images) != 1:
        raise MalformedRequest(f"send exactly one `image` part ({len(images)} were sent)")
    return images[0]


def _face_status(uow: Any, institution_id: int, learner_id: str) -> FaceStatusOut:
    st = faces.face_status(uow, institution_id=institution_id, learner_ext_id=learner_id)
    return FaceStatusOut(learner_id=learner_id, status=st.status, reasons=st.reasons,
                         submission_id=st.submission_id, submitted_at=st.submitted_at,
                         enrolled=st.enrolled_at is not None, enrolled_at=st.enrolled_at,
                         source=st.source, live=st.source == "burst" and st.status != "rejected")


@router.post("/learners/{learner_id}/face", status_code=201, openapi_extra=_IMAGE_BODY,
             responses={202: {"model": FaceProcessingOut}, 422: {"description": "refused"}})
def post_face(learner_id: ExtIdPath, request: Request, body: UploadBodyDep,
              platform: UploadPlatformDep, uow: UowDep, settings: SettingsDep,
              now: NowDep) -> Any:
    """Send the learner's enrolment photo (multipart `image`, JPEG/PNG ≤ 2 MiB, one face).

    Under a policy whose `enrolment_sources` leave out `photo` (henan-2021) a single upload is
    accepted only as `staff_reviewed`: a `reviewed_by` text part naming the staff member who
    checked it against the person; else 422 `live_enrolment_required` (use
    `POST /v1/learners/{id}/face/liveness`)."""
    reviewed_by = text_part(body, request.headers.get("content-type"), "reviewed_by")
    row = faces.submit_enrolment(uow, institution_id=platform.institution_id,
                                 learner_ext_id=learner_id, data=_one_image(request, body),
                                 store=blob_store_from_settings(settings), now=now,
                                 policy=policy_for(settings), reviewed_by=reviewed_by)
    if not in_process(settings):
        uow.enqueue(jobs.ENROL_FACE, row.id, now.isoformat())
        out = FaceProcessingOut(learner_id=learner_id, submission_id=row.id,
                                status_url=f"/v1/learners/{learner_id}/face")
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    from proctor.services.face_checks import process_enrolment

    process_enrolment(uow, enrolment_id=row.id, store=blob_store_from_settings(settings),
                      policy=policy_for(settings), models_dir=settings.models_dir, now=now)
    if row.status == "rejected":
        return _rejected(row)
    status = _face_status(uow, platform.institution_id, learner_id)
    return JSONResponse(status.model_dump(mode="json"), status_code=201)


def _rejected(row: FaceEnrolment) -> JSONResponse:
    """422 naming why, committed all the same: the refused photo stays on the learner's record."""
    if any(r.startswith("not_live:") for r in row.reasons):
        return JSONResponse({"error": {
            "code": "not_live", "field": "image", "reasons": list(row.reasons),
            "submission_id": row.id,
            "message": "the burst is not a live person: " + ", ".join(row.reasons)}},
            status_code=422)
    code = faces.rejection_code(row.reasons)
    message = {"no_face": "no face was found in the photo",
               "multiple_faces": "the photo must show exactly one face",
               "poor_quality": "the face is not usable: " + ", ".join(row.reasons)}[code]
    return JSONResponse({"error": {"code": code, "message": message, "field": "image",
                                   "reasons": list(row.reasons), "submission_id": row.id}},
                        status_code=422)


@router.post("/learners/{learner_id}/face/liveness", status_code=201,
             response_model=FaceLivenessCheckOut)
def open_face_liveness(learner_id: ExtIdPath, platform: PlatformDep, uow: UowDep,
                       settings: SettingsDep, now: NowDep) -> FaceLivenessCheckOut:
    """Start a live enrolment: the service draws the action the burst must show."""
    from proctor.services.challenges import LIVENESS_ACTIONS, LIVENESS_FRAMES

    row, action = faces.open_live_enrolment(uow, institution_id=platform.institution_id,
                                            learner_ext_id=learner_id, now=now,
                                            policy=policy_for(settings))
    return FaceLivenessCheckOut(
        learner_id=learner_id, submission_id=row.id, action=action,
        prompt=LIVENESS_ACTIONS[action], frames=list(LIVENESS_FRAMES),
        expires_at=faces.enrolment_check_expires_at(row, policy_for(settings)),
        upload_url=f"/v1/learners/{learner_id}/face/liveness/{row.id}")


@router.post("/learners/{learner_id}/face/liveness/{submission_id}", status_code=201,
             openapi_extra=_IMAGE_BODY, response_model=FaceStatusOut,
             responses={422: {"description": "refused: not live, or no usable face"},
                        410: {"description": "the check expired: open a new one"}})
def post_face_liveness(learner_id: ExtIdPath, submission_id: str, request: Request,
                       body: UploadBodyDep, platform: UploadPlatformDep, uow: UowDep,
                       settings: SettingsDep, now: NowDep) -> Any:
    """The enrolment burst (several `image` parts showing the drawn action). Judged in the
    request, with or without a broker."""
    from proctor.services.face_checks import process_enrolment_burst

    row, action = faces.awaiting_burst(uow, institution_id=platform.institution_id,
                                       learner_ext_id=learner_id, submission_id=submission_id,
                                       policy=policy_for(settings), now=now)
    images = image_parts(body, request.headers.get("content-type"))
    process_enrolment_burst(uow, row, action, images, store=blob_store_from_settings(settings),
                            policy=policy_for(settings), models_dir=settings.models_dir, now=now)
    if row.status == "rejected":
        return _rejected(row)
    status = _face_status(uow, platform.institution_id, learner_id)
    return JSONResponse(status.model_dump(mode="json"), status_code=201)


@router.get("/learners/{learner_id}/face", response_model=FaceStatusOut)
def get_face(learner_id: ExtIdPath, platform: PlatformDep, uow: UowDep) -> FaceStatusOut:
    """Whether the learner's latest enrolment photo is pending, enrolled or rejected (and why)."""
    return _face_status(uow, platform.institution_id, learner_id)


@router.post("/challenges/{challenge_id}/photo", status_code=201, openapi_extra=_IMAGE_BODY,
             response_model=ChallengePhotosOut,
             responses={202: {"model": ChallengeProcessingOut}, 410: {"description": "expired"}})
def post_photo(challenge_id: str, request: Request, body: UploadBodyDep,
               platform: UploadSessionCallerDep, uow: UowDep, settings: SettingsDep,
               now: NowDep) -> Any:
    """Answer a `photo` challenge (one `image`) or a `liveness` one (a burst of `image` parts)."""
    require_challenge(uow, platform, challenge_id)
    images = image_parts(body, request.headers.get("content-type"))
    received = photos.receive_photos(uow, institution_id=platform.institution_id,
                                     challenge_id=challenge_id, images=images,
                                     store=blob_store_from_settings(settings),
                                     policy=policy_for(settings), now=now)
    c = received.challenge
    if received.needs_vision and not in_process(settings):
        uow.enqueue(jobs.VERIFY_CHALLENGE, c.id, now.isoformat())
        out = ChallengeProcessingOut(challenge_id=c.id, status_url=f"/v1/challenges/{c.id}",
                                     photos=[_photo_out(p) for p in received.photos])
        return JSONResponse(out.model_dump(mode="json"), status_code=202)
    if received.needs_vision:
        from proctor.services.face_checks import judge_challenge

        judge_challenge(uow, challenge_id=c.id, store=blob_store_from_settings(settings),
                        policy=policy_for(settings), models_dir=settings.models_dir, now=now)
    for hook in request.app.state.on_sessions_to_evaluate:
        hook(uow, {c.session_id}, now)
    return _challenge_out(uow, c)


@router.get("/challenges/{challenge_id}", response_model=ChallengePhotosOut)
def get_challenge_photos(challenge_id: str, platform: SessionCallerDep, uow: UowDep) -> Any:
    """A challenge's state and the outcome of each photo sent for it."""
    require_challenge(uow, platform, challenge_id)
    c = ev_repo.challenge_of(uow.session, platform.institution_id, challenge_id)
    if c is None:
        raise NotFound(f"unknown challenge {challenge_id!r}", field="challenge_id")
    return _challenge_out(uow, c)


def _photo_out(p: Photo) -> PhotoOut:
    return PhotoOut(photo_id=p.id, frame_index=p.frame_index, outcome=p.outcome,
                    reasons=list(p.reasons or []))


def _challenge_out(uow: Any, c: Challenge) -> ChallengePhotosOut:
    face = (c.detail or {}).get("face", {})
    return ChallengePhotosOut(
        challenge_id=c.id, kind=c.kind, status=c.outcome, reasons=face.get("reasons", []),
        retries_left=face.get("retries_left") if c.outcome == "pending" else None,
        photos=[_photo_out(p) for p in face_repo.photos_of_challenge(uow.session, c.id)],
        session_ended=face.get("session_ended"))
