"""Queries on face templates, enrolment submissions and photos (the face pipeline's data)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from proctor.storage.tables import (
    FaceEnrolment,
    FaceIdentityHold,
    FaceTemplate,
    Institution,
    Learner,
    Photo,
)


def active_template(s: Session, learner_id: int, model: str | None = None) -> FaceTemplate | None:
    """The learner's template in force (of ``model`` if given: never another model's)."""
    q = select(FaceTemplate).where(FaceTemplate.learner_id == learner_id,
                                   FaceTemplate.active.is_(True))
    if model is not None:
        q = q.where(FaceTemplate.model == model)
    return s.scalar(q.order_by(FaceTemplate.created_at.desc(), FaceTemplate.id.desc()).limit(1))


def active_templates(s: Session, learner_id: int) -> dict[str, FaceTemplate]:
    """The learner's templates in force, one per model (the newest of each)."""
    out: dict[str, FaceTemplate] = {}
    for t in s.scalars(select(FaceTemplate)
                       .where(FaceTemplate.learner_id == learner_id,
                              FaceTemplate.active.is_(True))
                       .order_by(FaceTemplate.created_at.desc(), FaceTemplate.id.desc())):
        out.setdefault(t.model, t)
    return out


@dataclass(frozen=True)
class GalleryRow:
    template_id: int
    learner_id: int
    id_number: str
    county_code: str
    institution_id: int
    vector: bytes


def gallery(s: Session, model: str, county_prefix: str) -> list[GalleryRow]:
    """Every active template of ``model`` of learners whose institution's county code starts
    with ``county_prefix`` (a province is the first two digits), whatever the institution."""
    rows = s.execute(
        select(FaceTemplate.id, FaceTemplate.learner_id, Learner.id_number,
               Institution.county_code, Institution.id, FaceTemplate.vector)
        .join(Learner, Learner.id == FaceTemplate.learner_id)
        .join(Institution, Institution.id == Learner.institution_id)
        .where(FaceTemplate.active.is_(True), FaceTemplate.model == model,
               Institution.county_code.startswith(county_prefix)))
    return [GalleryRow(*r) for r in rows]


def templates_by_id_number(s: Session, model: str, id_number: str) -> list[GalleryRow]:
    """Active templates of ``model`` enrolled under this ID number, in any institution."""
    rows = s.execute(
        select(FaceTemplate.id, FaceTemplate.learner_id, Learner.id_number,
               Institution.county_code, Institution.id, FaceTemplate.vector)
        .join(Learner, Learner.id == FaceTemplate.learner_id)
        .join(Institution, Institution.id == Learner.institution_id)
        .where(FaceTemplate.active.is_(True), FaceTemplate.model == model,
               Learner.id_number == id_number))
    return [GalleryRow(*r) for r in rows]


def open_holds(s: Session, county_codes: Iterable[str] | None = None) -> list[FaceIdentityHold]:
    """Identity holds awaiting a reviewer (of these counties, or all)."""
    q = select(FaceIdentityHold).where(FaceIdentityHold.status == "open")
    if county_codes is not None:
        q = q.where(FaceIdentityHold.county_code.in_(list(county_codes)))
    return list(s.scalars(q.order_by(FaceIdentityHold.created_at, FaceIdentityHold.id)))


def holds_of_enrolment(s: Session, enrolment_id: str) -> list[FaceIdentityHold]:
    return list(s.scalars(select(FaceIdentityHold)
                          .where(FaceIdentityHold.enrolment_id == enrolment_id)
                          .order_by(FaceIdentityHold.id)))


def latest_enrolled_submissions(s: Session, institution_id: int | None = None
                                ) -> list[FaceEnrolment]:
    """Per learner, the submission that made the template in force (for re-enrolment)."""
    q = (select(FaceEnrolment)
         .join(FaceTemplate, FaceTemplate.id == FaceEnrolment.template_id)
         .where(FaceTemplate.active.is_(True)))
    if institution_id is not None:
        q = q.where(FaceEnrolment.institution_id == institution_id)
    return list(s.scalars(q.order_by(FaceEnrolment.institution_id, FaceEnrolment.learner_id)))


def deactivate_templates(s: Session, learner_id: int) -> None:
    s.execute(update(FaceTemplate)
              .where(FaceTemplate.learner_id == learner_id, FaceTemplate.active.is_(True))
              .values(active=False))


def latest_enrolment(s: Session, learner_id: int) -> FaceEnrolment | None:
    return s.scalar(select(FaceEnrolment).where(FaceEnrolment.learner_id == learner_id)
                    .order_by(FaceEnrolment.submitted_at.desc(), FaceEnrolment.id.desc()).limit(1))


def photos_of_challenge(s: Session, challenge_id: str) -> list[Photo]:
    return list(s.scalars(select(Photo).where(Photo.challenge_id == challenge_id)
                          .order_by(Photo.taken_at, Photo.frame_index)))


@dataclass(frozen=True)
class EarlierPhotoRow:
    """What the replay check needs of an earlier photo: hashes and where its file is."""

    ref: str  # "photo:<id>" or "enrolment:<template id>"
    phash: int
    sha256: str | None
    blob_key: str | None  # None once the retention job deleted the file


def earlier_photos(s: Session, learner_id: int, *, before: datetime,
                   exclude_challenge: str) -> list[EarlierPhotoRow]:
    """Every photo this learner sent before (other challenges) and their enrolment photos:
    a photo that repeats one of them is a replayed still."""
    photos = s.execute(select(Photo.id, Photo.phash, Photo.sha256, Photo.blob_key).where(
        Photo.learner_id == learner_id, Photo.challenge_id != exclude_challenge,
        Photo.taken_at <= before, Photo.phash.is_not(None)))
    templates = s.execute(select(FaceTemplate.id, FaceTemplate.phash, FaceTemplate.sha256,
                                 FaceTemplate.blob_key).where(
        FaceTemplate.learner_id == learner_id, FaceTemplate.phash.is_not(None)))
    rows = [EarlierPhotoRow(f"photo:{i}", int(h, 16), sha, key)
            for i, h, sha, key in photos if h]
    rows += [EarlierPhotoRow(f"enrolment:{i}", int(h, 16), sha, key)
             for i, h, sha, key in templates if h]
    return rows


def photos_older_than(s: Session, cutoff: datetime, limit: int = 1000) -> list[Photo]:
    """Photos taken before ``cutoff`` whose blobs are still kept."""
    return list(s.scalars(select(Photo)
                          .where(Photo.taken_at < cutoff,
                                 or_(Photo.blob_key.is_not(None), Photo.thumb_key.is_not(None)))
                          .order_by(Photo.taken_at).limit(limit)))


def keys_still_referenced(s: Session, keys: Iterable[str], *, cutoff: datetime) -> set[str]:
    """Of ``keys``, those a row kept beyond the purge still points at (blobs are content-
    addressed: a recent replay of an old photo shares its blob; enrolment photos too)."""
    keys = list(keys)
    if not keys:
        return set()
    used: set[str] = set()
    for col, thumb in ((Photo.blob_key, Photo.thumb_key),):
        rows = s.execute(select(col, thumb).where(Photo.taken_at >= cutoff,
                                                  or_(col.in_(keys), thumb.in_(keys))))
        for a, b in rows:
            used.update(k for k in (a, b) if k)
    used.update(k for k in s.scalars(select(FaceEnrolment.blob_key)
                                     .where(FaceEnrolment.blob_key.in_(keys))) if k)
    used.update(k for k in s.scalars(select(FaceTemplate.blob_key)
                                     .where(FaceTemplate.blob_key.in_(keys))) if k)
    return used & set(keys)
