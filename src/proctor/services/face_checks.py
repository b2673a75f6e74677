"""Use cases (vision worker side): judge enrolment photos and challenge photos with the models.

This module imports dlib (through proctor.vision.faces): only vision workers import it, and
the API process only in the embedded setup without a broker. One FaceEngine and one Landmarker
are loaded per process, on first use, and reused by every task.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from proctor.domain.errors import NotFound
from proctor.domain.model import SessionState
from proctor.domain.policy import Policy
from proctor.services.challenges import LIVENESS_FRAMES
from proctor.services.photos import NO_ENROLMENT
from proctor.services.uploads import check_image, phash_hex
from proctor.storage.blobs import BlobNotFound, BlobStore
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.repositories import faces as face_repo
from proctor.storage.tables import (
    Challenge,
    FaceEnrolment,
    FaceIdentityHold,
    FaceTemplate,
    Institution,
    Learner,
    Photo,
    StudySession,
)
from proctor.vision import passive, search
from proctor.vision.decode import decode_image
from proctor.vision.faces import (
    FaceEngine,
    FaceResult,
    MatchPolicy,
    Outcome,
    mean_embedding,
    mismatch_reasons,
    template_from_bytes,
    template_to_bytes,
)
from proctor.vision.liveness import Action, Landmarker, LivenessPolicy, LivenessResult, check_active
from proctor.vision.models import DLIB_MODEL, Matcher

TEMPLATE_MODEL = DLIB_MODEL  # the round-1 name, kept for callers
# reason a challenge fails when the learner's templates are of another model only
TEMPLATE_OUTDATED = "template_model_outdated"
FINAL_OUTCOMES = {o.value for o in Outcome}

_lock = threading.Lock()
_engines: dict[Path, FaceEngine] = {}
_landmarkers: dict[Path, Landmarker] = {}


def face_engine(models_dir: Path) -> FaceEngine:
    """The process's FaceEngine for ``models_dir`` (loaded once: ~0.5 s and ~100 MB)."""
    with _lock:
        if models_dir not in _engines:
            _engines[models_dir] = FaceEngine(models_dir)
        return _engines[models_dir]


def landmarker(models_dir: Path) -> Landmarker:
    with _lock:
        if models_dir not in _landmarkers:
            _landmarkers[models_dir] = Landmarker(models_dir)
        return _landmarkers[models_dir]


def match_policy(policy: Policy) -> MatchPolicy:
    """The one place the policy's face thresholds reach the vision layer."""
    replay = passive.ReplayThresholds(candidate_hamming=policy.replay_candidate_hamming,
                                      max_residual=policy.replay_max_residual,
                                      near_duplicate_hamming=policy.near_duplicate_hamming)
    return MatchPolicy(matcher=Matcher(policy.match_model), match_distance=policy.match_distance,
                       dlib_veto_distance=policy.dlib_veto_distance,
                       certain_mismatch_distance=policy.certain_mismatch_distance,
                       replay=replay)


def earlier_photos(uow: UnitOfWork, store: BlobStore, learner_id: int, *, before: datetime,
                   exclude_challenge: str) -> list[passive.EarlierPhoto]:
    """The learner's earlier photos for the replay check; files are read only if asked for
    (pHash-close ones), and a file the retention job deleted reads as None."""
    rows = face_repo.earlier_photos(uow.session, learner_id, before=before,
                                    exclude_challenge=exclude_challenge)
    return [passive.EarlierPhoto(phash=r.phash, sha256=r.sha256, ref=r.ref,
                                 pixels=partial(_pixels, store, r.blob_key))
            for r in rows]


def _pixels(store: BlobStore, key: str | None) -> np.ndarray | None:
    if key is None:
        return None
    try:
        return decode_image(store.get(key)).rgb
    except BlobNotFound:
        return None


def liveness_policy(policy: Policy) -> LivenessPolicy:
    lo, hi = LIVENESS_FRAMES
    return LivenessPolicy(min_frames=lo, max_frames=hi, match=match_policy(policy))


# --- enrolment ---------------------------------------------------------------------------

def process_enrolment(uow: UnitOfWork, *, enrolment_id: str, store: BlobStore, policy: Policy,
                      models_dir: Path, now: datetime,
                      evidence: dict[str, Any] | None = None) -> FaceEnrolment:
    """Judge a pending enrolment photo: templates in force, or the reasons there are none.

    One template per model is made (SFace and dlib), each row naming its model. Before it
    takes force the new face is searched against every enrolled learner of the province
    (1:N, regardless of institution): the same face under another ID number, or another face
    already enrolled under this ID number, holds the submission for the county reviewer
    (status ``held``, templates kept inactive, a FaceIdentityHold per finding).
    A new template deactivates the learner's previous ones (kept: history). Idempotent: a
    submission judged already is left alone (a task may run twice).
    """
    s = uow.session
    row = s.get(FaceEnrolment, enrolment_id)
    if row is None:
        raise NotFound(f"unknown enrolment submission {enrolment_id!r}")
    if row.status != "pending" or row.blob_key is None:
        return row
    rgb = decode_image(store.get(row.blob_key)).rgb
    result = face_engine(models_dir).enrol(rgb, match_policy(policy))
    row.processed_at = now
    if not result.ok:
        row.status, row.reasons = "rejected", list(result.reasons)
        s.flush()
        return row
    assert result.templates is not None and result.quality is not None
    q = result.quality
    quality: dict[str, Any] = {"face_px": q.face_px, "sharpness": round(q.sharpness, 2),
               "brightness": round(q.brightness, 2), "contrast": round(q.contrast, 2)}
    if result.live_score is not None:
        quality["live_score"] = round(result.live_score, 4)
    quality.update({"source": row.source, **(evidence or {})})
    if row.reviewed_by:
        quality["reviewed_by"] = row.reviewed_by
    install_templates(uow, row, dict(result.templates), phash=result.phash, quality=quality,
                      policy=policy, now=now)
    return row


def install_templates(uow: UnitOfWork, row: FaceEnrolment, templates: dict[str, np.ndarray], *,
                      phash: int | None, quality: dict[str, Any], policy: Policy,
                      now: datetime, check_identity: bool = True) -> list[FaceTemplate]:
    """Store one template per model for ``row``; in force unless the 1:N check holds it."""
    s = uow.session
    findings = identity_findings(uow, row.learner_id, templates, policy) if check_identity \
        else []
    held = bool(findings)
    if not held:
        face_repo.deactivate_templates(s, row.learner_id)
    made = []
    for model, vector in templates.items():
        t = FaceTemplate(learner_id=row.learner_id, vector=template_to_bytes(vector),
                         model=model, blob_key=row.blob_key, sha256=row.sha256,
                         phash=phash_hex(phash), active=not held, created_at=now,
                         quality=quality)
        s.add(t)
        made.append(t)
    s.flush()
    deciding = Matcher(policy.match_model).deciding_model
    row.template_id = next((t.id for t in made if t.model == deciding), made[0].id)
    if held:
        learner = s.get(Learner, row.learner_id)
        inst = s.get(Institution, learner.institution_id) if learner else None
        county = inst.county_code if inst else ""
        for f in findings:
            s.add(FaceIdentityHold(enrolment_id=row.id, learner_id=row.learner_id,
                                   institution_id=row.institution_id, county_code=county,
                                   kind=f.kind, other_learner_id=f.other_learner_id,
                                   other_template_id=f.other_template_id, model=deciding,
                                   distance=f.distance, scope=f.scope, status="open",
                                   created_at=now))
        row.status = "held"
        row.reasons = sorted({f"identity_review:{f.kind}" for f in findings})
    else:
        row.status, row.reasons = "enrolled", []
    s.flush()
    return made


@dataclass(frozen=True)
class IdentityFinding:
    kind: str  # same_face_other_id | other_face_same_id
    other_learner_id: int
    other_template_id: int
    distance: float
    scope: str  # county | province


def identity_findings(uow: UnitOfWork, learner_id: int, templates: dict[str, np.ndarray],
                      policy: Policy) -> list[IdentityFinding]:
    """1:N: the new face against every enrolled learner of the province, any institution."""
    s = uow.session
    learner = s.get(Learner, learner_id)
    if learner is None:
        return []
    inst = s.get(Institution, learner.institution_id)
    county = inst.county_code if inst else ""
    model = Matcher(policy.match_model).deciding_model
    query = templates[model]
    out: list[IdentityFinding] = []
    rows = face_repo.gallery(s, model, county[:2])
    others = [r for r in rows if r.id_number != learner.id_number]
    if others:
        matrix = search.gallery_matrix(model, [template_from_bytes(r.vector) for r in others])
        for i, d in search.within(model, query, matrix, policy.match_distance):
            r = others[i]
            out.append(IdentityFinding("same_face_other_id", r.learner_id, r.template_id, d,
                                       "county" if r.county_code == county else "province"))
    # another face already enrolled under this ID number (here or in another institution;
    # a re-enrolment of the same learner with a different face as well)
    for r in face_repo.templates_by_id_number(s, model, learner.id_number):
        d = float(search.distances(model, query, search.gallery_matrix(
            model, [template_from_bytes(r.vector)]))[0])
        if d > policy.match_distance:
            out.append(IdentityFinding("other_face_same_id", r.learner_id, r.template_id, d,
                                       "county" if r.county_code == county else "province"))
    return out


# --- challenge photos --------------------------------------------------------------------

def judge_challenge(uow: UnitOfWork, *, challenge_id: str, store: BlobStore, policy: Policy,
                    models_dir: Path, now: datetime) -> Challenge:
    """Judge a challenge's pending photos, write each Photo's outcome, and the challenge's.

    ``now`` is the server time the photos were received (not when a worker got to them), so
    a queue delay never turns a retry into an expiry.
    """
    s = uow.session
    c = s.get(Challenge, challenge_id, with_for_update=True)
    if c is None:
        raise NotFound(f"unknown challenge {challenge_id!r}")
    photos = face_repo.photos_of_challenge(s, c.id)
    pending = [p for p in photos if p.outcome == "pending"]
    if not pending:
        return c  # judged already (a task delivered twice)
    learner_id = pending[0].learner_id
    active = face_repo.active_templates(s, learner_id)
    needed = Matcher(policy.match_model).models
    if not active or any(m not in active for m in needed):
        # a template of another model is never compared: re-enrolment (`proctor faces
        # reenrol`) rebuilds it from the stored photo
        reason = NO_ENROLMENT if not active else f"{TEMPLATE_OUTDATED}:{needed[0]}"
        for p in pending:
            p.outcome, p.reasons, p.processed_at = NO_ENROLMENT, [reason], now
        _settle(c, "failed", [reason])
        s.flush()
        return c
    template = {m: template_from_bytes(active[m].vector) for m in needed}
    earlier = earlier_photos(uow, store, learner_id, before=now, exclude_challenge=c.id)
    frames = [decode_image(store.get(p.blob_key)).rgb for p in pending if p.blob_key]
    if c.kind == "liveness":
        _judge_liveness(c, pending, frames, template, earlier, policy, models_dir, now)
    else:
        _judge_photo(c, photos, pending[-1], frames[-1], template, earlier, policy, models_dir,
                     now)
    s.flush()
    bound_retries(uow, c, policy, now)
    return c


SESSION_ENDED = "session_ended"


def bound_retries(uow: UnitOfWork, c: Challenge, policy: Policy, now: datetime) -> str | None:
    """A failed challenge is not reissued without end: once a challenge and its reissues
    failed ``challenge_max_attempts`` times in a row, or the session ``session_max_failed_challenges`` times,
    the session is ended (the failed challenges are the evidence) and the challenge says why."""
    if c.outcome != "failed":
        return None
    s = uow.session
    issued = ev_repo.challenges_of(s, c.session_id)
    failed = [x for x in issued if x.kind in ("photo", "liveness") and x.outcome == "failed"]
    # one challenge and its reissues (a retry carries no plan index): the failures of this
    # kind since the last one of this kind that passed
    same: list[Challenge] = []
    for x in issued:
        if x.kind == c.kind and x.outcome == "passed":
            same = []
        elif x.kind == c.kind and x.outcome == "failed":
            same.append(x)
    if len(same) >= policy.challenge_max_attempts:
        why = f"challenge_attempts_exhausted:{c.kind}:{len(same)}"
    elif len(failed) >= policy.session_max_failed_challenges:
        why = f"session_failed_challenges:{len(failed)}"
    else:
        return None
    study = s.get(StudySession, c.session_id, with_for_update=True)
    if study is not None and study.status == SessionState.OPEN:
        study.status, study.ended_at = SessionState.ENDED, now
    face = dict((c.detail or {}).get("face", {}))
    c.detail = {**(c.detail or {}), "face": {**face, SESSION_ENDED: why,
                                             "failed_challenges": [x.id for x in failed]}}
    s.flush()
    return why


def _judge_photo(c: Challenge, photos: list[Photo], photo: Photo, rgb: np.ndarray,
                 template: dict[str, np.ndarray], earlier: list[passive.EarlierPhoto], policy: Policy,
                 models_dir: Path, now: datetime) -> None:
    result = face_engine(models_dir).verify(rgb, template, match_policy(policy), earlier,
                                            sha256=photo.sha256)
    _record(photo, result.outcome.value, result.distance, result.reasons, result.phash, now)
    photo_detail = _photo_detail(result)
    tries = sum(1 for p in photos if p.outcome in FINAL_OUTCOMES)
    certain_mismatch = (result.outcome is Outcome.MISMATCH and result.distance is not None
                        and result.distance >= policy.certain_mismatch_distance)
    if result.outcome is Outcome.MATCH:
        _settle(c, "passed", [], photo_detail)
    elif result.outcome.value in policy.fatal_photo_outcomes or certain_mismatch:
        _settle(c, "failed", list(result.reasons), photo_detail)
    elif tries <= policy.photo_retry_allowance and now <= c.expires_at:
        # one bad frame does not fail the learner: the same challenge takes another photo
        left = policy.photo_retry_allowance + 1 - tries
        _settle(c, "pending", list(result.reasons), {**photo_detail, "retries_left": left})
    else:
        _settle(c, "failed", list(result.reasons), photo_detail)


def _photo_detail(result: FaceResult) -> dict[str, Any]:
    detail = {"outcome": result.outcome.value, "model": _model_name(result),
              "distance": None if result.distance is None else round(result.distance, 4),
              "distances": {k: round(v, 4) for k, v in result.distances.items()},
              "live_score": None if result.live_score is None else round(result.live_score, 4)}
    if result.replay is not None:
        detail["replay"] = replay_evidence(result.replay)
    return detail


def _model_name(result: FaceResult) -> str | None:
    return next(iter(result.distances), None)


def replay_evidence(r: passive.ReplayFinding) -> dict[str, Any]:
    """The distances behind a spoof / near_duplicate call, for reviewers."""
    return {"kind": r.kind.value, "hamming": r.hamming, "identical_bytes": r.identical_bytes,
            "residual": None if r.residual is None else round(r.residual, 3), "of": r.ref}


def _judge_liveness(c: Challenge, photos: list[Photo], frames: list[np.ndarray],
                    template: dict[str, np.ndarray], earlier: list[passive.EarlierPhoto],
                    policy: Policy, models_dir: Path, now: datetime) -> None:
    lpol = liveness_policy(policy)
    try:
        action = Action(c.action or "")
    except ValueError:
        action = None
    if action is None:
        for p in photos:
            _record(p, Outcome.NO_FACE.value, None, ["unknown_action"], None, now)
        _settle(c, "failed", [f"unknown_action:{c.action}"])
        return
    result = check_active(face_engine(models_dir), landmarker(models_dir), frames, action,
                          template, lpol)
    frozen = [r for r in result.reasons if r.startswith("frozen_burst")]
    replays: list[str] = []
    evidence: list[dict[str, Any]] = []
    for i, (p, rgb) in enumerate(zip(photos, frames, strict=True)):
        phash = passive.perceptual_hash(rgb)
        outcome, reasons = _frame_outcome(result, i, lpol)
        replay = passive.find_replay(rgb, phash, earlier, lpol.match.replay, p.sha256)
        if replay is not None:
            evidence.append({"frame": i, **replay_evidence(replay)})
        if replay is not None and replay.kind is passive.ReplayKind.RESENT:
            outcome, reasons = Outcome.SPOOF.value, [replay.reason]
            replays.append(f"replayed_still:frame={i}")
        elif frozen:
            outcome, reasons = Outcome.SPOOF.value, frozen
        elif replay is not None:
            # close to an earlier photo, not proven the same: the action and the motion of
            # the burst decide (a burst has no retry), the frame keeps its identity outcome
            # and says why a reviewer may want to look
            reasons = [*reasons, replay.reason]
        sig = result.frames[i] if i < len(result.frames) else None
        _record(p, outcome, sig.distance if sig else None, reasons, phash, now)
    detail: dict[str, Any] = {
        "outcome": result.outcome.value, "action": action.value,
        "action_seen": result.action_seen,
        "max_distance": None if result.max_distance is None else round(result.max_distance, 4),
        "burst_distance": (None if result.burst_distance is None
                           else round(result.burst_distance, 4)),
        "max_motion": round(max(result.motion), 3) if result.motion else None}
    if evidence:
        detail["replay"] = evidence
    passed = result.passed and not replays
    _settle(c, "passed" if passed else "failed", [*result.reasons, *replays], detail)


def _frame_outcome(result: LivenessResult, i: int, lpol: LivenessPolicy) -> tuple[str, list[str]]:
    if i >= len(result.frames):  # the burst was refused before any frame was looked at
        return Outcome.NO_FACE.value, list(result.reasons)
    sig = result.frames[i]
    if sig.faces == 0:
        return Outcome.NO_FACE.value, ["no_face"]
    if sig.faces > 1:
        return Outcome.MULTIPLE_FACES.value, [f"multiple_faces:{sig.faces}"]
    assert sig.distance is not None
    why = mismatch_reasons(sig.distances, lpol.match)
    if why and result.outcome is not Outcome.MISMATCH:
        # the burst's mean embedding is the enrolled person and this frame is not certainly
        # someone else: a borderline frame (blur, a turned head), kept visible to reviewers
        return Outcome.MATCH.value, [f"borderline_frame:{r}" for r in why]
    if why:
        return Outcome.MISMATCH.value, list(why)
    return Outcome.MATCH.value, []


def _record(p: Photo, outcome: str, distance: float | None, reasons: Any, phash: int | None,
            now: datetime) -> None:
    p.outcome, p.distance, p.reasons = outcome, distance, list(reasons)
    p.phash, p.processed_at = phash_hex(phash), now


def _settle(c: Challenge, outcome: str, reasons: list[str],
            face: dict[str, Any] | None = None) -> None:
    c.outcome = outcome
    c.detail = {**(c.detail or {}), "face": {**(face or {}), "reasons": reasons}}


# --- live enrolment from a burst -----------------------------------------------------------

def process_enrolment_burst(uow: UnitOfWork, row: FaceEnrolment, action_name: str,
                            images: list[bytes], *, store: BlobStore, policy: Policy,
                            models_dir: Path, now: datetime) -> FaceEnrolment:
    """Judge an enrolment liveness burst with the same checks as a session's opening one:
    the asked action (a still print cannot turn its head), a frozen burst, a frame that
    repeats an earlier photo of the learner, the MiniFASNet score (kept as evidence), then
    the quality gate on the most frontal frame. The templates are the burst's mean
    embedding per model. Refused: status ``rejected`` with the reasons (``not_live:...``)."""
    checked = [check_image(d) for d in images]
    frames = [decode_image(c.data).rgb for c in checked]
    lpol = liveness_policy(policy)
    engine = face_engine(models_dir)
    row.processed_at = now
    try:
        action = Action(action_name)
    except ValueError:
        row.status, row.reasons = "rejected", [f"unknown_action:{action_name}"]
        return row
    result = check_active(engine, landmarker(models_dir), frames, action, None, lpol)
    reasons = list(result.reasons)
    if result.outcome.value in ("no_face", "multiple_faces") and not reasons:
        reasons.append(result.outcome.value)
    earlier = earlier_photos(uow, store, row.learner_id, before=now, exclude_challenge="")
    for i, (c, rgb) in enumerate(zip(checked, frames, strict=True)):
        replay = passive.find_replay(rgb, passive.perceptual_hash(rgb), earlier,
                                     lpol.match.replay, hashlib.sha256(c.data).hexdigest())
        if replay is not None and replay.kind is passive.ReplayKind.RESENT:
            reasons.append(f"replayed_still:frame={i}")
    # the most frontal frame with one face is the reference photo
    faced = [i for i, s in enumerate(result.frames) if s.faces == 1 and s.yaw_deg is not None]
    best = min(faced, key=lambda i: abs(result.frames[i].yaw_deg or 0.0)) if faced else 0
    chosen = checked[best]
    blob = store.put(chosen.data, chosen.content_type)
    row.blob_key, row.sha256, row.content_type = blob.key, blob.sha256, chosen.content_type
    row.width, row.height = chosen.image.width, chosen.image.height
    if reasons or result.outcome is not Outcome.MATCH:
        row.status = "rejected"
        row.reasons = [f"not_live:{r}" for r in (reasons or [result.outcome.value])]
        uow.session.flush()
        return row
    enrolled = engine.enrol(frames[best], match_policy(policy))
    if not enrolled.ok or enrolled.quality is None:
        row.status, row.reasons = "rejected", list(enrolled.reasons)
        uow.session.flush()
        return row
    templates: dict[str, np.ndarray] = {}
    for model in (enrolled.templates or {}):
        embs = [s.embeddings[model] for s in result.frames if model in s.embeddings]
        templates[model] = mean_embedding(model, embs)
    live = [engine.live_score(frames[i], f) for i in faced
            for f in engine.significant_faces(engine.detect(frames[i], lpol.match), lpol.match)]
    q = enrolled.quality
    quality: dict[str, Any] = {"face_px": q.face_px, "sharpness": round(q.sharpness, 2),
                               "brightness": round(q.brightness, 2),
                               "contrast": round(q.contrast, 2), "action": action.value,
                               "frames": len(frames)}
    if live:
        quality["live_score"] = round(float(np.mean(live)), 4)
    install_templates(uow, row, templates, phash=enrolled.phash, quality=quality,
                      policy=policy, now=now)
    return row
