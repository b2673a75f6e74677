"""Who is in the photo: detect exactly one face, encode it, compare it with the enrolled template.

Pipeline per snapshot (all models loaded once per process by FaceEngine):
  YuNet (cv2.FaceDetectorYN) on a copy downscaled to ``detect_max_side`` → boxes scaled back;
  exactly one face; quality of that face; replay/recapture cues; then the matcher:
  * ``sface`` (default): SFace int8 (cv2.FaceRecognizerSF) on the face aligned with YuNet's
    five points → 128-d unit vector → distance = 1 − cosine to the template;
  * ``dlib``: dlib 5-point landmarks on the YuNet box → dlib ResNet 128-d encoding →
    Euclidean distance;
  * ``sface+dlib_veto``: SFace decides, a dlib distance above ``dlib_veto_distance`` can only
    turn a match into a mismatch.
A template is tied to the model that made it (``SFACE_MODEL``, ``DLIB_MODEL``): vectors of
two models are never compared (both are 128-d floats, so only the model name tells them apart).
The 68-point dlib model (iBUG 300-W, non-commercial) is never loaded here.
Thresholds come in through ``MatchPolicy``: the policy owns them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import dlib
import face_recognition_models
import numpy as np

from proctor.vision import passive
from proctor.vision.models import ALL_MODELS, DLIB_MODEL, SFACE_MODEL, Matcher
from proctor.vision.quality import QualityReport, QualityThresholds, assess_face

MODELS_DIR_ENV = "PROCTOR_MODELS_DIR"
YUNET_FILE = "face_detection_yunet_2026may.onnx"
SFACE_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
MINIFASNET_FILES = (  # (file, crop scale around the face box) as the models were trained
    ("minifasnet_v2_scale2.7_80x80.onnx", 2.7),
    ("minifasnet_v1se_scale4.0_80x80.onnx", 4.0),
)
TEMPLATE_DIM = 128
# SFace alignment points re-detected on a crop REFINE_MARGIN × the face box, resampled to
# REFINE_SIDE px (the face ~160 px there); a box scoring REFINE_SCORE counts in the crop, which
# holds the face already found (docs/faces.md "Alignment refined")
REFINE_SIDE = 320
REFINE_MARGIN = 2.0
REFINE_SCORE = 0.5

# a learner's templates: model id → vector
Templates = Mapping[str, np.ndarray]


class Outcome(StrEnum):
    MATCH = "match"
    MISMATCH = "mismatch"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    POOR_QUALITY = "poor_quality"
    SPOOF = "spoof"
    # close to an earlier photo but not proven the same still: a retry, not a failure
    NEAR_DUPLICATE = "near_duplicate"


@dataclass(frozen=True)
class MatchPolicy:
    """Thresholds of face verification; the service builds this from the policy file."""

    matcher: Matcher = Matcher.SFACE
    # same person at or below this distance of the deciding model (SFace: 1 − cosine; dlib:
    # Euclidean). SFace 0.611 = cosine 0.389, FMR ≤ 0.1% on Chinese faces (docs/faces.md)
    match_distance: float = 0.611
    # sface+dlib_veto only: a dlib distance above this turns an SFace match into a mismatch
    dlib_veto_distance: float = 0.6
    # a frame of a burst this far is someone else whatever the burst's mean says
    certain_mismatch_distance: float = 0.75
    # YuNet confidence for a box to count as a face; its own default. Measured: the dog in
    # dlib's dogs.jpg scores 0.87, the weakest real face of the shared photos 0.918.
    detect_score: float = 0.9
    # longest side of the copy the detector sees: a webcam face stays ≥ 40 px at 320, and
    # YuNet costs ~4 ms there against 12–19 ms at 640
    detect_max_side: int = 320
    # a second face counts only if its short side is at least this share of the largest face:
    # a face on a poster far behind the learner is not a second person at the desk
    other_face_min_ratio: float = 0.25
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    # MiniFASNet mean "real" probability below this ⇒ spoof. Off (None) by default: on web
    # photos it calls 5% of genuine faces < 0.06 (docs/faces.md); the score is still reported
    min_live_score: float | None = None
    # compute the MiniFASNet score even when it decides nothing (min_live_score None), as
    # evidence for reviewers: ~8 ms of a ~95 ms snapshot on one core (docs/faces.md)
    live_score_evidence: bool = True
    # when a photo is an earlier photo sent again (spoof) or only close to one (near_duplicate)
    replay: passive.ReplayThresholds = field(default_factory=passive.ReplayThresholds)
    num_jitters: int = 1  # dlib re-samples per encoding; 1 is dlib's default and the fastest


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x, y, w, h in the original image
    score: float
    # YuNet's five points (x, y): right eye, left eye, nose tip, right and left mouth corner
    points: np.ndarray


@dataclass(frozen=True)
class FaceResult:
    """The verdict on one photo. ``distance`` (of the deciding model) is set whenever exactly
    one face was encoded; ``distances`` holds every model's."""

    outcome: Outcome
    distance: float | None
    reasons: tuple[str, ...]
    faces: tuple[Face, ...] = ()
    quality: QualityReport | None = None
    live_score: float | None = None
    phash: int | None = None  # keep it: later photos are compared against it (replays)
    replay: passive.ReplayFinding | None = None  # the earlier photo it repeats, if any
    distances: Mapping[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.MATCH


@dataclass(frozen=True)
class Enrolment:
    """Result of enrolling a photo: templates (one per model), or the reasons there are none."""

    templates: Mapping[str, np.ndarray] | None
    reasons: tuple[str, ...]
    face: Face | None = None
    quality: QualityReport | None = None
    phash: int | None = None
    live_score: float | None = None

    @property
    def ok(self) -> bool:
        return self.templates is not None

    @property
    def template(self) -> np.ndarray | None:
        """The dlib template (kept for callers of the dlib-only era)."""
        return None if self.templates is None else self.templates.get(DLIB_MODEL)


def default_models_dir() -> Path:
    """models/ at the repository top, or $PROCTOR_MODELS_DIR."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[3] / "models"


def face_distance(template: np.ndarray, encoding: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(template, np.float64) - encoding))


def cosine_distance(template: np.ndarray, embedding: np.ndarray) -> float:
    """1 − cosine similarity (what cv2.FaceRecognizerSF.match(FR_COSINE) gives, subtracted)."""
    a, b = np.asarray(template, np.float64), np.asarray(embedding, np.float64)
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(1.0 - float(a @ b) / max(norm, 1e-12))


def model_distance(model: str, template: np.ndarray, embedding: np.ndarray) -> float:
    """The distance of ``model``'s own metric (SFace: 1 − cosine, dlib: Euclidean)."""
    if model == SFACE_MODEL:
        return cosine_distance(template, embedding)
    if model == DLIB_MODEL:
        return face_distance(template, embedding)
    raise ValueError(f"unknown face model {model!r}")


def mean_embedding(model: str, embeddings: Sequence[np.ndarray]) -> np.ndarray:
    """One vector for several frames of one person: the mean (of unit vectors for SFace)."""
    arr = np.asarray(embeddings, np.float64)
    if model == SFACE_MODEL:
        arr = arr / np.linalg.norm(arr, axis=1, keepdims=True)
        m = arr.mean(axis=0)
        return np.asarray(m / max(float(np.linalg.norm(m)), 1e-12))
    return np.asarray(arr.mean(axis=0))


def template_to_bytes(template: np.ndarray) -> bytes:
    """128 float64 little-endian values (1024 bytes): what the database stores."""
    arr = np.asarray(template, dtype="<f8")
    if arr.shape != (TEMPLATE_DIM,):
        raise ValueError(f"a template has {TEMPLATE_DIM} values, not {arr.shape}")
    return arr.tobytes()


def template_from_bytes(data: bytes) -> np.ndarray:
    arr = np.frombuffer(data, dtype="<f8")
    if arr.shape != (TEMPLATE_DIM,):
        raise ValueError(f"a stored template has {TEMPLATE_DIM} values, not {arr.shape}")
    return arr.astype(np.float64)


class FaceEngine:
    """Loads the models once; thread-unsafe (one engine per worker process)."""

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = Path(models_dir) if models_dir else default_models_dir()
        self._detector = cv2.FaceDetectorYN.create(
            str(self.models_dir / YUNET_FILE), "", (320, 320), 0.5, 0.3, 5000
        )
        self._sface = cv2.FaceRecognizerSF.create(str(self.models_dir / SFACE_FILE), "")
        self._shape_predictor = dlib.shape_predictor(
            face_recognition_models.pose_predictor_five_point_model_location()
        )
        self._encoder = dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        )
        self._antispoof = [
            (cv2.dnn.readNetFromONNX(str(self.models_dir / name)), scale)
            for name, scale in MINIFASNET_FILES
        ]

    # -- building blocks ----------------------------------------------------------------
    def detect(self, rgb: np.ndarray, policy: MatchPolicy) -> list[Face]:
        """Faces above ``policy.detect_score``, largest first, in original coordinates."""
        h, w = rgb.shape[:2]
        scale = min(1.0, policy.detect_max_side / max(h, w))
        small = rgb
        if scale < 1.0:
            small = cv2.resize(
                rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
        self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
        self._detector.setScoreThreshold(policy.detect_score)
        _, rows = self._detector.detect(bgr)
        faces = []
        for row in [] if rows is None else rows:
            x, y, bw, bh = (row[:4] / scale).tolist()
            points = (row[4:14].reshape(5, 2) / scale).astype(np.float32)
            box = (round(x), round(y), round(bw), round(bh))
            faces.append(Face(box=box, score=float(row[14]), points=points))
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def significant_faces(self, faces: Sequence[Face], policy: MatchPolicy) -> list[Face]:
        if not faces:
            return []
        largest = min(faces[0].box[2], faces[0].box[3])
        return [
            f for f in faces if min(f.box[2], f.box[3]) >= policy.other_face_min_ratio * largest
        ]

    def encode(self, rgb: np.ndarray, face: Face, num_jitters: int = 1) -> np.ndarray:
        """128-d dlib encoding of ``face`` (5-point landmarks on the YuNet box)."""
        h, w = rgb.shape[:2]
        x, y, bw, bh = face.box
        rect = dlib.rectangle(max(0, x), max(0, y), min(w - 1, x + bw), min(h - 1, y + bh))
        shape = self._shape_predictor(rgb, rect)
        return np.asarray(self._encoder.compute_face_descriptor(rgb, shape, num_jitters))

    def refine_points(self, rgb: np.ndarray, face: Face) -> Face:
        """``face`` with YuNet's five points found again on a square crop of it (side
        ``REFINE_MARGIN`` × the box, centred on it) resampled to ``REFINE_SIDE`` px.

        The detector runs on a copy downscaled to ``detect_max_side``: on a large photo its
        points are a few original pixels off, and SFace's alignment is sensitive to that
        (docs/faces.md "Alignment refined"). In the crop the face is ~160 px, YuNet's
        comfortable size. If no face is found there the first points are kept."""
        x, y, w, h = face.box
        side = max(w, h) * REFINE_MARGIN
        if side < 1:
            return face
        x0, y0 = x + w / 2 - side / 2, y + h / 2 - side / 2
        scale = REFINE_SIDE / side
        warp = np.array([[scale, 0, -x0 * scale], [0, scale, -y0 * scale]], np.float32)
        interp = cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA
        crop = cv2.warpAffine(rgb, warp, (REFINE_SIDE, REFINE_SIDE), flags=interp,
                              borderMode=cv2.BORDER_CONSTANT)
        self._detector.setInputSize((REFINE_SIDE, REFINE_SIDE))
        self._detector.setScoreThreshold(REFINE_SCORE)
        _, rows = self._detector.detect(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
        if rows is None or len(rows) == 0:
            return face
        c = REFINE_SIDE / 2
        row = min(rows, key=lambda r: (r[0] + r[2] / 2 - c) ** 2 + (r[1] + r[3] / 2 - c) ** 2)
        offset = np.array([x0, y0], np.float32)
        points = (row[4:14].reshape(5, 2) / scale + offset).astype(np.float32)
        bx, by = row[:2] / scale + offset
        box = (round(float(bx)), round(float(by)), round(float(row[2] / scale)),
               round(float(row[3] / scale)))
        return Face(box=box, score=float(row[14]), points=points)

    def encode_sface(self, rgb: np.ndarray, face: Face) -> np.ndarray:
        """128-d SFace embedding (unit length) of ``face`` aligned by YuNet's five points,
        re-detected on an upscaled, recentred crop of the face first (``refine_points``)."""
        face = self.refine_points(rgb, face)
        row = np.array([*face.box, *face.points.reshape(-1), face.score], np.float32)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        aligned = self._sface.alignCrop(bgr, row)
        feat = np.asarray(self._sface.feature(aligned), np.float64).reshape(-1)
        return feat / max(float(np.linalg.norm(feat)), 1e-12)

    def embed(self, rgb: np.ndarray, face: Face, model: str, num_jitters: int = 1) -> np.ndarray:
        if model == SFACE_MODEL:
            return self.encode_sface(rgb, face)
        if model == DLIB_MODEL:
            return self.encode(rgb, face, num_jitters)
        raise ValueError(f"unknown face model {model!r}")

    def embed_all(self, rgb: np.ndarray, face: Face, models: Sequence[str],
                  num_jitters: int = 1) -> dict[str, np.ndarray]:
        return {m: self.embed(rgb, face, m, num_jitters) for m in models}

    def live_score(self, rgb: np.ndarray, face: Face) -> float:
        """MiniFASNet's mean probability that the face is a live capture (not print/screen)."""
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        total = 0.0
        for net, scale in self._antispoof:
            crop = _silent_face_crop(bgr, face.box, scale)
            # the models were trained on BGR 0..255 floats (no normalisation)
            net.setInput(cv2.dnn.blobFromImage(crop, 1.0, (80, 80), swapRB=False))
            total += float(net.forward()[0, 1])
        return total / len(self._antispoof)

    # -- use cases ----------------------------------------------------------------------
    def enrol(self, rgb: np.ndarray, policy: MatchPolicy | None = None,
              models: Sequence[str] = ALL_MODELS) -> Enrolment:
        """Templates (one per model in ``models``) from an enrolment photo: exactly one face,
        large, sharp and lit enough. Every model's template is made, so that switching the
        matcher never needs the photo again."""
        policy = policy or MatchPolicy()
        phash = passive.perceptual_hash(rgb)
        faces = self.significant_faces(self.detect(rgb, policy), policy)
        if not faces:
            return Enrolment(None, ("no_face",), phash=phash)
        if len(faces) > 1:
            return Enrolment(None, (f"multiple_faces:{len(faces)}",), phash=phash)
        face = faces[0]
        quality = assess_face(rgb, face.box, policy.quality)
        if not quality.ok:
            return Enrolment(None, quality.reasons, face=face, quality=quality, phash=phash)
        templates = self.embed_all(rgb, face, models, policy.num_jitters)
        live = self.live_score(rgb, face)
        return Enrolment(templates, (), face=face, quality=quality, phash=phash, live_score=live)

    def verify(
        self,
        rgb: np.ndarray,
        templates: Templates,
        policy: MatchPolicy | None = None,
        earlier: Sequence[passive.EarlierPhoto] = (),
        sha256: str | None = None,
    ) -> FaceResult:
        """Compare a snapshot with the enrolled templates; see Outcome for the possible answers.

        ``templates``: model id → vector; every model the policy's matcher needs must be in it
        (a template of another model is never compared: KeyError names the missing one).

        ``earlier``: the learner's earlier photos (passive.find_replay); ``sha256``: of the
        uploaded bytes, so that a byte-identical re-send is caught without decoding anything.
        Precedence: no_face / multiple_faces, then poor_quality, then spoof (an earlier photo
        sent again, or MiniFASNet's recapture cue), then mismatch, then near_duplicate (close
        to an earlier photo, not proven a re-send: retried, not failed), then match.
        The distance is computed whenever exactly one face is found, so that evidence of
        another person survives even when another outcome wins; a mismatch outranks
        near_duplicate for the same reason (the near-duplicate reason is kept beside it).
        """
        policy = policy or MatchPolicy()
        missing = [m for m in policy.matcher.models if m not in templates]
        if missing:
            raise KeyError(f"no template of model {missing[0]!r} for matcher {policy.matcher}")
        phash = passive.perceptual_hash(rgb)
        # replay and near-duplicate checks run on every photo, before any quality gate: a
        # replayed still of poor quality must leave its trace (the finding is always kept)
        replay = passive.find_replay(rgb, phash, earlier, policy.replay, sha256)
        all_faces = self.detect(rgb, policy)
        faces = self.significant_faces(all_faces, policy)
        resent = replay is not None and replay.kind is passive.ReplayKind.RESENT
        if not faces or len(faces) > 1:
            outcome = Outcome.NO_FACE if not faces else Outcome.MULTIPLE_FACES
            reasons = ["no_face" if not faces else f"multiple_faces:{len(faces)}"]
            if resent:
                assert replay is not None
                outcome, reasons = Outcome.SPOOF, [replay.reason, *reasons]
            elif replay is not None:
                reasons.append(replay.reason)
            return FaceResult(outcome, None, tuple(reasons), tuple(faces), phash=phash,
                              replay=replay)
        face = faces[0]
        quality = assess_face(rgb, face.box, policy.quality)
        embeddings = self.embed_all(rgb, face, policy.matcher.models, policy.num_jitters)
        distances = {m: model_distance(m, templates[m], e) for m, e in embeddings.items()}
        distance = distances[policy.matcher.deciding_model]
        wanted = policy.min_live_score is not None or policy.live_score_evidence
        live = self.live_score(rgb, face) if wanted else None
        common: dict[str, Any] = {"faces": (face,), "quality": quality, "live_score": live,
                                  "phash": phash, "replay": replay, "distances": distances}
        spoof_reasons = []
        if resent:
            assert replay is not None
            spoof_reasons.append(replay.reason)
        if not quality.ok and not spoof_reasons:
            near_q = () if replay is None else (replay.reason,)
            return FaceResult(Outcome.POOR_QUALITY, distance, (*quality.reasons, *near_q),
                              **common)
        if policy.min_live_score is not None and live is not None \
                and live < policy.min_live_score:
            spoof_reasons.append(f"recapture_suspected:live_score={live:.2f}")
        if spoof_reasons:
            return FaceResult(Outcome.SPOOF, distance, tuple(spoof_reasons), **common)
        near = () if replay is None else (replay.reason,)
        mismatch = mismatch_reasons(distances, policy)
        if mismatch:
            return FaceResult(Outcome.MISMATCH, distance, (*mismatch, *near), **common)
        if near:
            return FaceResult(Outcome.NEAR_DUPLICATE, distance, near, **common)
        return FaceResult(Outcome.MATCH, distance, (), **common)


def mismatch_reasons(distances: Mapping[str, float], policy: MatchPolicy) -> tuple[str, ...]:
    """Why these distances are not the enrolled person under the policy's matcher (or ())."""
    deciding = policy.matcher.deciding_model
    d = distances[deciding]
    if d > policy.match_distance:
        return (f"distance_above_threshold:{d:.3f}>{policy.match_distance}",)
    if policy.matcher is Matcher.SFACE_DLIB_VETO:
        dv = distances[DLIB_MODEL]
        if dv > policy.dlib_veto_distance:
            return (f"dlib_veto:{dv:.3f}>{policy.dlib_veto_distance}",)
    return ()


def _silent_face_crop(bgr: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """The Silent-Face repository's crop: the box enlarged ``scale`` times, shifted inside."""
    src_h, src_w = bgr.shape[:2]
    x, y, bw, bh = box
    bw, bh = max(bw, 1), max(bh, 1)
    scale = min((src_h - 1) / bh, (src_w - 1) / bw, scale)
    new_w, new_h = bw * scale, bh * scale
    cx, cy = x + bw / 2, y + bh / 2
    x0, y0, x1, y1 = cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2
    if x0 < 0:
        x1, x0 = x1 - x0, 0
    if y0 < 0:
        y1, y0 = y1 - y0, 0
    if x1 > src_w - 1:
        x0, x1 = x0 - (x1 - src_w + 1), src_w - 1
    if y1 > src_h - 1:
        y0, y1 = y0 - (y1 - src_h + 1), src_h - 1
    crop = bgr[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1]
    return cv2.resize(crop, (80, 80))
