"""Use cases (API side): photos answering a `photo` or `liveness` challenge, and photo bytes
for the review portal.

Receiving checks the challenge and the images, keeps every frame (blob, sha256, thumbnail) as a
pending Photo, and says whether the face pipeline has work to do. The pipeline itself
(`proctor.services.face_checks`) runs on the vision queue, or in the request without a broker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from proctor.domain.errors import Conflict, Gone, InvalidInput, NotFound
from proctor.domain.policy import Policy
from proctor.services.challenges import LIVENESS_FRAMES
from proctor.services.uploads import CheckedImage, check_image, thumbnail_jpeg
from proctor.storage.blobs import BlobNotFound, BlobStore, thumbnail
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import faces as face_repo
from proctor.storage.tables import Challenge, Photo, StudySession

NO_ENROLMENT = "no_enrolment"


@dataclass(frozen=True)
class Received:
    challenge: Challenge
    photos: list[Photo]
    needs_vision: bool  # False when judged already (e.g. no enrolled face to compare with)


def frame_limits(kind: str) -> tuple[int, int]:
    return LIVENESS_FRAMES if kind == "liveness" else (1, 1)


def _open_challenge(uow: UnitOfWork, institution_id: int, challenge_id: str,
                    now: datetime) -> Challenge:
    c = ev_repo.challenge_of(uow.session, institution_id, challenge_id, for_update=True)
    if c is None:
        raise NotFound(f"unknown challenge {challenge_id!r}", field="challenge_id")
    if c.kind not in ("photo", "liveness"):
        raise Conflict(f"a {c.kind} challenge is answered with POST /v1/challenges/"
                       f"{challenge_id}/answer, not with photos", field="challenge_id")
    if c.outcome == "expired" or (c.outcome == "pending" and now > c.expires_at):
        raise Gone(f"challenge expired at {c.expires_at.isoformat()}; fetch the current one "
                   "with GET /v1/sessions/{session_id}/challenge", field="challenge_id",
                   code="expired")
    if c.outcome != "pending":
        raise Conflict(f"challenge was already answered ({c.outcome})", field="challenge_id")
    return c


def _check_retry(uow: UnitOfWork, c: Challenge, policy: Policy) -> None:
    earlier = face_repo.photos_of_challenge(uow.session, c.id)
    if any(p.outcome == "pending" for p in earlier):
        raise Conflict("the photos sent before for this challenge are still being checked",
                       field="challenge_id", code="processing")
    if c.kind == "liveness" and earlier:
        raise Conflict("this liveness challenge already received its burst", field="challenge_id")
    if len(earlier) > policy.photo_retry_allowance:
        raise Conflict(f"no retry left: {len(earlier)} photos were sent", field="challenge_id")


def receive_photos(uow: UnitOfWork, *, institution_id: int, challenge_id: str,
                   images: list[bytes], store: BlobStore, policy: Policy,
                   now: datetime) -> Received:
    """Keep the frames sent for a pending, unexpired photo/liveness challenge of the caller."""
    c = _open_challenge(uow, institution_id, challenge_id, now)
    lo, hi = frame_limits(c.kind)
    if not lo <= len(images) <= hi:
        want = "exactly one `image` part" if hi == 1 else f"{lo} to {hi} `image` parts"
        raise InvalidInput(f"a {c.kind} challenge takes {want}; {len(images)} were sent",
                           field="image", code="frame_count")
    _check_retry(uow, c, policy)
    # every frame is checked before anything is stored: a bad frame refuses the whole burst
    checked = [check_image(data, field=f"image[{i}]") for i, data in enumerate(images)]
    study = uow.session.get(StudySession, c.session_id)
    assert study is not None
    first_index = len(face_repo.photos_of_challenge(uow.session, c.id))
    photos = [_keep(uow, store, c, study.learner_id, img, first_index + i, now)
              for i, img in enumerate(checked)]
    c.received_at = c.answered_at = now
    template = face_repo.active_template(uow.session, study.learner_id)
    if template is None:
        # nothing to compare with: the challenge fails now, the frames stay as evidence
        for p in photos:
            p.outcome, p.reasons, p.processed_at = NO_ENROLMENT, [NO_ENROLMENT], now
        c.outcome = "failed"
        c.detail = {**(c.detail or {}), "face": {"reasons": [NO_ENROLMENT]}}
    uow.session.flush()
    return Received(c, photos, needs_vision=template is not None)


def _keep(uow: UnitOfWork, store: BlobStore, c: Challenge, learner_id: int, img: CheckedImage,
          index: int, now: datetime) -> Photo:
    blob = store.put(img.data, img.content_type)
    thumb = store.put(thumbnail_jpeg(img.image.rgb), "image/jpeg")
    photo = Photo(id=str(uuid.uuid4()), session_id=c.session_id, challenge_id=c.id,
                  learner_id=learner_id, institution_id=c.institution_id, frame_index=index,
                  taken_at=now, blob_key=blob.key, thumb_key=thumb.key, sha256=blob.sha256,
                  content_type=img.content_type, width=img.image.width,
                  height=img.image.height, outcome="pending", reasons=[])
    uow.session.add(photo)
    return photo


@dataclass(frozen=True)
class PhotoBytes:
    data: bytes
    content_type: str
    sha256: str | None  # of the original (None for a thumbnail)


def photo_bytes(uow: UnitOfWork, photo_id: str, *, thumb: bool, store: BlobStore) -> PhotoBytes:
    """A kept photo (or its thumbnail) for the review portal, which checks who may see it.

    Raises NotFound for an unknown photo and for one whose blob the retention job deleted.
    """
    photo = uow.session.get(Photo, photo_id)
    if photo is None:
        raise NotFound(f"unknown photo {photo_id!r}", field="photo_id")
    key = (photo.thumb_key or photo.blob_key) if thumb else photo.blob_key
    if key is None:
        raise NotFound(f"photo {photo_id} was deleted after the retention period "
                       "(its outcome is kept)", field="photo_id", code="purged")
    try:
        data = store.get(key)
    except BlobNotFound:
        raise NotFound(f"photo {photo_id}: its file is missing from the blob store",
                       field="photo_id", code="missing") from None
    if thumb:
        # a photo kept before thumbnails were made: shrink it now
        return PhotoBytes(data if photo.thumb_key else thumbnail(data), "image/jpeg", None)
    return PhotoBytes(data, photo.content_type, photo.sha256)
