"""Use cases (API side): a learner's enrolment photo is received, stored, and later judged.

Judging needs the face models (dlib): it happens in `proctor.services.face_checks`, called by
the `proctor.vision.enrol_face` task on the vision queue, or in the request itself when no
broker is configured (the embedded default).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from proctor.domain.errors import NotFound
from proctor.services.uploads import check_image
from proctor.storage.blobs import BlobStore
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import faces as face_repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import FaceEnrolment, Learner

# Reason prefixes of the vision layer grouped into the codes clients act on.
QUALITY_REASONS = {"face_too_small", "too_blurry", "too_dark", "too_bright", "low_contrast"}


def learner_of(uow: UnitOfWork, institution_id: int, learner_ext_id: str) -> Learner:
    learner = reg_repo.learner(uow.session, institution_id, learner_ext_id)
    if learner is None:
        raise NotFound(f"unknown learner {learner_ext_id!r}", field="learner_id")
    return learner


def submit_enrolment(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str, data: bytes,
                     store: BlobStore, now: datetime) -> FaceEnrolment:
    """Check the upload, keep the photo, and record a pending enrolment for the vision task."""
    learner = learner_of(uow, institution_id, learner_ext_id)
    checked = check_image(data)
    blob = store.put(checked.data, checked.content_type)
    row = FaceEnrolment(
        id=str(uuid.uuid4()), learner_id=learner.id, institution_id=institution_id,
        status="pending", reasons=[], blob_key=blob.key, sha256=blob.sha256,
        content_type=checked.content_type, width=checked.image.width,
        height=checked.image.height, submitted_at=now)
    uow.session.add(row)
    uow.session.flush()
    return row


def rejection_code(reasons: list[str] | tuple[str, ...]) -> str:
    """The one code a client acts on: no_face, multiple_faces or poor_quality."""
    for reason in reasons:
        head = reason.split(":", 1)[0]
        if head in ("no_face", "multiple_faces"):
            return head
    return "poor_quality"


@dataclass(frozen=True)
class FaceStatus:
    status: str  # none | pending | enrolled | rejected (of the latest submission)
    reasons: list[str]
    submission_id: str | None
    submitted_at: datetime | None
    enrolled_at: datetime | None  # of the template in force (may predate a rejected retry)


def face_status(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str) -> FaceStatus:
    learner = learner_of(uow, institution_id, learner_ext_id)
    latest = face_repo.latest_enrolment(uow.session, learner.id)
    active = face_repo.active_template(uow.session, learner.id)
    enrolled_at = active.created_at if active is not None else None
    if latest is None:
        return FaceStatus("enrolled" if active else "none", [], None, None, enrolled_at)
    return FaceStatus(latest.status, list(latest.reasons or []), latest.id, latest.submitted_at,
                      enrolled_at)
