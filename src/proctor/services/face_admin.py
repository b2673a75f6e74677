"""Operator use cases of the face pipeline (vision side, loads the models): rebuild templates
for the policy's models from the stored enrolment photos, and measure accuracy on a folder.

Both go through exactly the service's pipeline: the upload check (`check_image`: format,
size, pixels), YuNet + the quality gate (`FaceEngine.enrol` with the policy's thresholds), the
model, and the policy's threshold.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from proctor.domain.errors import InvalidInput, ProctorError
from proctor.domain.policy import Policy
from proctor.services.face_checks import face_engine, match_policy
from proctor.services.uploads import check_image
from proctor.storage.blobs import BlobNotFound, BlobStore
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import FaceTemplate, Institution, Learner
from proctor.vision.decode import decode_image
from proctor.vision.faces import mismatch_reasons, model_distance, template_to_bytes
from proctor.vision.models import ALL_MODELS, Matcher

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


# --- re-enrolment -----------------------------------------------------------------------

@dataclass(frozen=True)
class NotReenrolled:
    institution: str
    learner_id: str  # the platform's id (ext_id), never the ID number
    reasons: list[str]


@dataclass
class ReenrolReport:
    learners: int = 0  # learners with a template in force
    rebuilt: int = 0
    up_to_date: int = 0
    failed: list[NotReenrolled] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"learners": self.learners, "rebuilt": self.rebuilt,
                "up_to_date": self.up_to_date,
                "failed": [f.__dict__ for f in self.failed]}


def learners_to_reenrol(uow: UnitOfWork, models: tuple[str, ...] = ALL_MODELS
                        ) -> tuple[int, list[tuple[int, list[FaceTemplate]]]]:
    """(learners with templates in force, those of them lacking one of ``models``)."""
    active = uow.session.scalars(select(FaceTemplate).where(FaceTemplate.active.is_(True))
                                 .order_by(FaceTemplate.learner_id, FaceTemplate.id)).all()
    by_learner: dict[int, list[FaceTemplate]] = {}
    for t in active:
        by_learner.setdefault(t.learner_id, []).append(t)
    todo = [(lid, ts) for lid, ts in by_learner.items()
            if not set(models) <= {t.model for t in ts}]
    return len(by_learner), todo


def reenrol(uow: UnitOfWork, *, store: BlobStore, policy: Policy, models_dir: Path,
            now: datetime, models: tuple[str, ...] = ALL_MODELS,
            on_progress: Callable[[int, int], None] | None = None) -> ReenrolReport:
    """Add the missing models' templates from each learner's stored enrolment photo.

    The photo goes through today's pipeline; a learner whose photo no longer passes (or whose
    file is gone) keeps the old template (never dropped silently) and is listed, so that the
    institution can ask for a new enrolment; until then a challenge fails with
    ``template_model_outdated`` rather than comparing vectors of two models.
    """
    s = uow.session
    total, todo = learners_to_reenrol(uow, models)
    report = ReenrolReport(learners=total, up_to_date=total - len(todo))
    engine = face_engine(models_dir)
    mpol = match_policy(policy)
    for n, (learner_id, templates) in enumerate(todo, 1):
        have = {t.model for t in templates}
        source = templates[0]
        reasons: list[str] = []
        try:
            if source.blob_key is None:
                raise BlobNotFound("purged")
            rgb = decode_image(store.get(source.blob_key)).rgb
            result = engine.enrol(rgb, mpol, models=[m for m in models if m not in have])
            reasons = list(result.reasons)
        except BlobNotFound:
            reasons, result = ["enrolment_photo_missing"], None
        if result is not None and result.ok and result.templates is not None:
            for model, vector in result.templates.items():
                s.add(FaceTemplate(learner_id=learner_id, vector=template_to_bytes(vector),
                                   model=model, blob_key=source.blob_key, sha256=source.sha256,
                                   phash=source.phash, active=True, created_at=now,
                                   quality=dict(source.quality or {})))
            report.rebuilt += 1
        else:
            learner = s.get(Learner, learner_id)
            inst = s.get(Institution, learner.institution_id) if learner else None
            report.failed.append(NotReenrolled(inst.name if inst else "?",
                                               learner.ext_id if learner else str(learner_id),
                                               reasons))
        s.flush()
        if on_progress:
            on_progress(n, len(todo))
    return report


# --- accuracy on a folder -----------------------------------------------------------------

def evaluate_folder(root: Path, *, policy: Policy, models_dir: Path) -> dict[str, Any]:
    """FNMR / FMR of the policy's matcher on a folder of one subfolder per person.

    Every photo goes through the enrolment pipeline (upload check, one face, quality gate,
    model); refused photos are counted with their reasons. Pairs: every two enrolled photos,
    genuine when of the same subfolder. ``threshold_fmr_0_1pct``: the largest distance at
    which no more than 0.1% of impostor pairs would be accepted.
    """
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder", field="dir")
    people = {d.name: sorted(f for f in d.iterdir() if f.is_file()
                             and f.suffix.lower() in IMAGE_SUFFIXES)
              for d in sorted(root.iterdir()) if d.is_dir()}
    people = {k: v for k, v in people.items() if v}
    mpol = match_policy(policy)
    model = mpol.matcher.deciding_model
    engine = face_engine(models_dir)
    enrolled: list[tuple[str, dict[str, np.ndarray]]] = []
    refused: Counter[str] = Counter()
    refused_files: list[dict[str, Any]] = []
    for person, files in people.items():
        for f in files:
            try:
                rgb = check_image(f.read_bytes()).image.rgb
                result = engine.enrol(rgb, mpol, models=mpol.matcher.models)
                reasons = list(result.reasons)
            except ProctorError as exc:
                result, reasons = None, [exc.code]
            if result is not None and result.ok and result.templates is not None:
                enrolled.append((person, dict(result.templates)))
                continue
            refused.update(r.split(":", 1)[0] for r in reasons)
            refused_files.append({"file": str(f.relative_to(root)), "reasons": reasons})
    genuine: list[float] = []
    impostor: list[float] = []
    genuine_ok = impostor_ok = 0
    for (p1, t1), (p2, t2) in itertools.combinations(enrolled, 2):
        ds = {m: model_distance(m, t1[m], t2[m]) for m in mpol.matcher.models}
        same = not mismatch_reasons(ds, mpol)
        if p1 == p2:
            genuine.append(ds[model])
            genuine_ok += same
        else:
            impostor.append(ds[model])
            impostor_ok += same
    imp = np.sort(np.array(impostor))
    allowed = int(np.floor(0.001 * len(imp)))
    cut = None if not len(imp) else float(imp[allowed]) if allowed < len(imp) else None
    return {
        "people": len(people), "photos": sum(len(v) for v in people.values()),
        "enrolled": len(enrolled), "refused": len(refused_files),
        "refused_reasons": dict(refused), "refused_files": refused_files,
        "model": model, "matcher": str(mpol.matcher),
        "genuine_pairs": len(genuine), "impostor_pairs": len(impostor),
        "fnmr": None if not genuine else round(1 - genuine_ok / len(genuine), 6),
        "fmr": None if not impostor else round(impostor_ok / len(impostor), 6),
        "threshold": mpol.match_distance,
        # just below the (allowed+1)-th closest impostor pair
        "threshold_fmr_0_1pct": None if cut is None else round(cut - 1e-6, 6),
        "genuine_distance_max": None if not genuine else round(max(genuine), 4),
        "impostor_distance_min": None if not impostor else round(float(imp[0]), 4),
    }


def matcher_of(policy: Policy) -> Matcher:
    return Matcher(policy.match_model)
