"""Use cases (API side): a learner's enrolment photo is received, stored, and later judged.

Judging needs the face models (dlib): it happens in `proctor.services.face_checks`, called by
the `proctor.vision.enrol_face` task on the vision queue, or in the request itself when no
broker is configured (the embedded default).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from proctor.domain.errors import Conflict, InvalidInput, NotFound
from proctor.domain.ids import mask_id_number
from proctor.services.uploads import check_image
from proctor.storage.blobs import BlobStore
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import faces as face_repo
from proctor.storage.repositories import registry as reg_repo
from proctor.storage.tables import (
    FaceEnrolment,
    FaceIdentityHold,
    FaceTemplate,
    Institution,
    Learner,
)

# Reason prefixes of the vision layer grouped into the codes clients act on.
QUALITY_REASONS = {"face_too_small", "too_blurry", "too_dark", "too_bright", "low_contrast"}


def learner_of(uow: UnitOfWork, institution_id: int, learner_ext_id: str) -> Learner:
    learner = reg_repo.learner(uow.session, institution_id, learner_ext_id)
    if learner is None:
        raise NotFound(f"unknown learner {learner_ext_id!r}", field="learner_id")
    return learner


def submit_enrolment(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str, data: bytes,
                     store: BlobStore, now: datetime, source: str = "photo") -> FaceEnrolment:
    """Check the upload, keep the photo, and record a pending enrolment for the vision task.

    ``source``: ``photo`` (one upload from the platform: not live) or ``staff_reviewed`` (an
    upload institution staff checked against the person, `proctor faces enrol-reviewed`)."""
    learner = learner_of(uow, institution_id, learner_ext_id)
    checked = check_image(data)
    blob = store.put(checked.data, checked.content_type)
    row = FaceEnrolment(
        id=str(uuid.uuid4()), learner_id=learner.id, institution_id=institution_id,
        status="pending", reasons=[], blob_key=blob.key, sha256=blob.sha256,
        content_type=checked.content_type, width=checked.image.width,
        height=checked.image.height, submitted_at=now, source=source)
    uow.session.add(row)
    uow.session.flush()
    return row


def institution_named(uow: UnitOfWork, name: str) -> Institution:
    inst = uow.session.scalar(select(Institution).where(Institution.name == name))
    if inst is None:
        raise NotFound(f"unknown institution {name!r}", field="institution")
    return inst


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
    source: str | None = None  # of the latest submission: photo | burst | staff_reviewed


def face_status(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str) -> FaceStatus:
    learner = learner_of(uow, institution_id, learner_ext_id)
    latest = face_repo.latest_enrolment(uow.session, learner.id)
    active = face_repo.active_template(uow.session, learner.id)
    enrolled_at = active.created_at if active is not None else None
    if latest is None:
        return FaceStatus("enrolled" if active else "none", [], None, None, enrolled_at)
    return FaceStatus(latest.status, list(latest.reasons or []), latest.id, latest.submitted_at,
                      enrolled_at, latest.source)


# --- one person, one identity: holds for the county reviewer ------------------------------

@dataclass(frozen=True)
class HoldSide:
    learner_id: str  # the platform's id
    institution: str
    county_code: str
    real_name: str
    id_number_masked: str
    photo_blob_key: str | None  # None once purged


@dataclass(frozen=True)
class IdentityHoldView:
    """What the county reviewer sees of a held enrolment: both people, both photos."""

    hold_id: int
    kind: str  # same_face_other_id | other_face_same_id
    scope: str  # county | province
    status: str
    model: str
    distance: float
    created_at: datetime
    new: HoldSide  # the enrolment being held
    other: HoldSide  # the learner already enrolled


def _side(uow: UnitOfWork, learner_id: int, blob_key: str | None) -> HoldSide:
    s = uow.session
    learner = s.get(Learner, learner_id)
    assert learner is not None
    inst = s.get(Institution, learner.institution_id)
    return HoldSide(learner.ext_id, inst.name if inst else "", inst.county_code if inst else "",
                    learner.real_name, mask_id_number(learner.id_number), blob_key)


def identity_holds(uow: UnitOfWork, county_codes: list[str] | None,
                   include_decided: bool = False) -> list[IdentityHoldView]:
    """Holds of enrolments in these counties (None: all), oldest first, for the portal.

    A hold is listed for the county of the new enrolment; a reviewer of the other learner's
    county sees it too (the match crossed the border)."""
    s = uow.session
    q = select(FaceIdentityHold).order_by(FaceIdentityHold.created_at, FaceIdentityHold.id)
    if not include_decided:
        q = q.where(FaceIdentityHold.status == "open")
    out = []
    for h in s.scalars(q):
        enrolment = s.get(FaceEnrolment, h.enrolment_id)
        other_t = s.get(FaceTemplate, h.other_template_id)
        new = _side(uow, h.learner_id, enrolment.blob_key if enrolment else None)
        other = _side(uow, h.other_learner_id, other_t.blob_key if other_t else None)
        if county_codes is not None and new.county_code not in county_codes \
                and other.county_code not in county_codes:
            continue
        out.append(IdentityHoldView(h.id, h.kind, h.scope, h.status, h.model, h.distance,
                                    h.created_at, new, other))
    return out


def resolve_hold(uow: UnitOfWork, hold_id: int, *, decision: str, user_id: int,
                 now: datetime) -> FaceIdentityHold:
    """A county reviewer's decision: ``cleared`` (not one person under two identities: once
    no hold of the submission is open its templates take force) or ``confirmed``
    (impersonation or a duplicate identity: the submission is rejected)."""
    if decision not in ("cleared", "confirmed"):
        raise InvalidInput("decision must be cleared or confirmed", field="decision")
    s = uow.session
    hold = s.get(FaceIdentityHold, hold_id)
    if hold is None:
        raise NotFound(f"unknown identity hold {hold_id}", field="hold_id")
    if hold.status != "open":
        raise Conflict(f"identity hold {hold_id} was already decided ({hold.status})")
    hold.status, hold.decided_at, hold.decided_by = decision, now, user_id
    row = s.get(FaceEnrolment, hold.enrolment_id)
    assert row is not None
    holds = list(s.scalars(select(FaceIdentityHold)
                           .where(FaceIdentityHold.enrolment_id == row.id)))
    if decision == "confirmed":
        row.status = "rejected"
        row.reasons = [*row.reasons, f"identity_confirmed:{hold.kind}"]
    elif row.status == "held" and all(h.status == "cleared" for h in holds):
        face_repo.deactivate_templates(s, row.learner_id)
        for t in s.scalars(select(FaceTemplate).where(
                FaceTemplate.learner_id == row.learner_id, FaceTemplate.sha256 == row.sha256,
                FaceTemplate.active.is_(False), FaceTemplate.created_at == row.processed_at)):
            t.active = True
        row.status, row.reasons = "enrolled", []
    s.flush()
    return hold


# --- live enrolment: a liveness burst, as at a session's opening -------------------------

AWAITING_BURST = "awaiting_burst"
ACTION_PREFIX = "action:"
# blink is not drawn at enrolment: no burst cut from real video passes it (docs/faces.md)
ENROLMENT_ACTIONS = ("open_mouth", "turn_left", "turn_right")


def open_live_enrolment(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str,
                        action: str, now: datetime) -> FaceEnrolment:
    """An enrolment liveness check: the service's drawn ``action``, awaiting the burst."""
    if action not in ENROLMENT_ACTIONS:
        raise InvalidInput(f"unknown enrolment action {action!r}", field="action")
    learner = learner_of(uow, institution_id, learner_ext_id)
    row = FaceEnrolment(
        id=str(uuid.uuid4()), learner_id=learner.id, institution_id=institution_id,
        status=AWAITING_BURST, reasons=[ACTION_PREFIX + action], blob_key=None, sha256="",
        content_type="", width=0, height=0, submitted_at=now, source="burst")
    uow.session.add(row)
    uow.session.flush()
    return row


def awaiting_burst(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str,
                   submission_id: str) -> tuple[FaceEnrolment, str]:
    """The open enrolment check ``submission_id`` of this learner and its action."""
    learner = learner_of(uow, institution_id, learner_ext_id)
    row = uow.session.get(FaceEnrolment, submission_id, with_for_update=True)
    if row is None or row.learner_id != learner.id:
        raise NotFound(f"unknown enrolment check {submission_id!r}", field="submission_id")
    if row.status != AWAITING_BURST:
        raise Conflict(f"enrolment check {submission_id!r} was answered already ({row.status})")
    action = next((r[len(ACTION_PREFIX):] for r in row.reasons if r.startswith(ACTION_PREFIX)),
                  "")
    return row, action
