"""Use cases (API side): a learner's enrolment photo is received, stored, and later judged.

Judging needs the face models (dlib): it happens in `proctor.services.face_checks`, called by
the `proctor.vision.enrol_face` task on the vision queue, or in the request itself when no
broker is configured (the embedded default).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from proctor.domain.errors import Conflict, Gone, InvalidInput, NotFound
from proctor.domain.ids import mask_id_number
from proctor.domain.policy import Policy
from proctor.services import audit_log
from proctor.services.scope import Scope
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
    User,
)

# Reason prefixes of the vision layer grouped into the codes clients act on.
QUALITY_REASONS = {"face_too_small", "too_blurry", "too_dark", "too_bright", "low_contrast"}


def learner_of(uow: UnitOfWork, institution_id: int, learner_ext_id: str) -> Learner:
    learner = reg_repo.learner(uow.session, institution_id, learner_ext_id)
    if learner is None:
        raise NotFound(f"unknown learner {learner_ext_id!r}", field="learner_id")
    return learner


def submit_enrolment(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str, data: bytes,
                     store: BlobStore, now: datetime, policy: Policy,
                     reviewed_by: str | None = None) -> FaceEnrolment:
    """Check the upload, keep the photo, and record a pending enrolment for the vision task.

    One uploaded photo is ``staff_reviewed`` when ``reviewed_by`` names the staff member who
    checked it against the person (API field `reviewed_by`, `proctor faces enrol-reviewed`),
    else a bare ``photo``. Either is refused (422 ``live_enrolment_required``, nothing kept)
    unless the policy's ``enrolment_sources`` allows it: every single-photo path comes here."""
    reviewer = (reviewed_by or "").strip() or None
    if reviewer is not None and len(reviewer) > 100:
        raise InvalidInput("reviewed_by is at most 100 characters", field="reviewed_by")
    source = "photo" if reviewer is None else "staff_reviewed"
    learner = learner_of(uow, institution_id, learner_ext_id)
    if source not in policy.enrolment_sources:
        live = "burst" in policy.enrolment_sources
        raise InvalidInput(
            f"policy {policy.id} does not accept a {source.replace('_', ' ')} as the reference "
            f"photo (enrolment_sources: {', '.join(policy.enrolment_sources)}): "
            + (f"enrol live with POST /v1/learners/{learner_ext_id}/face/liveness"
               if live else "")
            + (" or send the upload with `reviewed_by` naming the staff member who checked it"
               if "staff_reviewed" in policy.enrolment_sources and reviewer is None else ""),
            field="image", code="live_enrolment_required")
    checked = check_image(data)
    blob = store.put(checked.data, checked.content_type)
    row = FaceEnrolment(
        id=str(uuid.uuid4()), learner_id=learner.id, institution_id=institution_id,
        status="pending", reasons=[], blob_key=blob.key, sha256=blob.sha256,
        content_type=checked.content_type, width=checked.image.width,
        height=checked.image.height, submitted_at=now, source=source, reviewed_by=reviewer)
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
    id_number: str = ""  # in full: shown only to roles that see full ID numbers (Scope)
    learner_pk: int = 0  # the learner's row id (the county person page)


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
                    learner.real_name, mask_id_number(learner.id_number), blob_key,
                    id_number=learner.id_number, learner_pk=learner.id)


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


# the portal's words for a hold decision → resolve_hold's
HOLD_DECISIONS = {"release": "cleared", "confirm": "confirmed"}


def scoped_hold(uow: UnitOfWork, scope: Scope, hold_id: int,
                include_decided: bool = True) -> IdentityHoldView:
    """The hold ``hold_id`` if either learner's county is in ``scope`` (404 otherwise)."""
    counties = None if scope.sees_all else list(scope.county_codes)
    for view in identity_holds(uow, counties, include_decided=include_decided):
        if view.hold_id == hold_id:
            return view
    raise NotFound("没有找到该人脸核查记录，或不在您的权限范围内。", field="hold_id")


def decide_hold(uow: UnitOfWork, *, user: User, scope: Scope, hold_id: int, decision: str,
                reason: str, now: datetime) -> FaceIdentityHold:
    """A county reviewer's decision on a 1:N hit, audited: ``release`` (two people: the held
    templates take force once no hold of the submission is open) or ``confirm`` (one person
    under two identities, or another face under this ID number: the submission is
    rejected)."""
    if not scope.can_review:
        raise NotFound("没有找到该人脸核查记录，或不在您的权限范围内。", field="hold_id")
    view = scoped_hold(uow, scope, hold_id)
    if decision not in HOLD_DECISIONS:
        raise InvalidInput("请选择“放行（不是同一人）”或“确认为同一人”。", field="decision")
    if not reason.strip():
        raise InvalidInput("请填写复核理由。", field="reason")
    if view.status != "open":
        raise Conflict("该记录已有结论。", field="decision")
    hold = resolve_hold(uow, hold_id, decision=HOLD_DECISIONS[decision], user_id=user.id,
                        now=now)
    audit_log.append(uow, actor=audit_log.actor_of(user), action=f"faces.hold.{decision}",
                     subject=f"face_identity_hold:{hold.id}", at=now,
                     payload={"kind": hold.kind, "scope": hold.scope, "model": hold.model,
                              "distance": round(hold.distance, 4),
                              "learner": view.new.learner_id, "institution": view.new.institution,
                              "other_learner": view.other.learner_id,
                              "other_institution": view.other.institution,
                              "reason": reason.strip()[:2000]})
    return hold


# --- live enrolment: a liveness burst, as at a session's opening -------------------------

AWAITING_BURST = "awaiting_burst"
ACTION_PREFIX = "action:"
# blink is not drawn at enrolment: no burst cut from real video passes it (docs/faces.md)
ENROLMENT_ACTIONS = ("open_mouth", "turn_left", "turn_right")


def open_live_enrolment(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str,
                        now: datetime, policy: Policy) -> tuple[FaceEnrolment, str]:
    """An enrolment liveness check awaiting the burst, and the action it must show, drawn here
    by the service (never chosen by a client). It expires ``policy.challenge_expiry_s`` after
    it was opened, like a session's challenge."""
    if "burst" not in policy.enrolment_sources:
        raise InvalidInput(f"policy {policy.id} does not accept live enrolment "
                           f"(enrolment_sources: {', '.join(policy.enrolment_sources)})",
                           code="live_enrolment_not_accepted")
    learner = learner_of(uow, institution_id, learner_ext_id)
    action = secrets.choice(ENROLMENT_ACTIONS)
    row = FaceEnrolment(
        id=str(uuid.uuid4()), learner_id=learner.id, institution_id=institution_id,
        status=AWAITING_BURST, reasons=[ACTION_PREFIX + action], blob_key=None, sha256="",
        content_type="", width=0, height=0, submitted_at=now, source="burst")
    uow.session.add(row)
    uow.session.flush()
    return row, action


def enrolment_check_expires_at(row: FaceEnrolment, policy: Policy) -> datetime:
    return row.submitted_at + timedelta(seconds=policy.challenge_expiry_s)


def awaiting_burst(uow: UnitOfWork, *, institution_id: int, learner_ext_id: str,
                   submission_id: str, policy: Policy, now: datetime) -> tuple[FaceEnrolment, str]:
    """The open enrolment check ``submission_id`` of this learner and its action.

    410 ``expired`` once ``challenge_expiry_s`` has passed since it was opened: the client
    opens a new one, with a new action (an expired check never takes an answer)."""
    learner = learner_of(uow, institution_id, learner_ext_id)
    row = uow.session.get(FaceEnrolment, submission_id, with_for_update=True)
    if row is None or row.learner_id != learner.id:
        raise NotFound(f"unknown enrolment check {submission_id!r}", field="submission_id")
    expires = enrolment_check_expires_at(row, policy)
    if row.status == AWAITING_BURST and now > expires:
        raise Gone(f"enrolment check {submission_id!r} expired at {expires.isoformat()}; open "
                   f"a new one with POST /v1/learners/{learner_ext_id}/face/liveness",
                   field="submission_id", code="expired")
    if row.status != AWAITING_BURST:
        raise Conflict(f"enrolment check {submission_id!r} was answered already ({row.status})")
    action = next((r[len(ACTION_PREFIX):] for r in row.reasons if r.startswith(ACTION_PREFIX)),
                  "")
    return row, action
