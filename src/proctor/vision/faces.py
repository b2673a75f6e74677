"""Who is in the photo: detect exactly one face, encode it, compare it with the enrolled template.

Pipeline per snapshot (all models loaded once per process by FaceEngine):
  YuNet (cv2.FaceDetectorYN) on a copy downscaled to ``detect_max_side`` → boxes scaled back;
  exactly one face; quality of that face; replay/recapture cues; dlib 5-point landmarks on the
  YuNet box → dlib ResNet 128-d encoding → Euclidean distance to the template.
The 68-point dlib model (iBUG 300-W, non-commercial) is never loaded here.
Thresholds come in through ``MatchPolicy``: the policy owns them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import cv2
import dlib
import face_recognition_models
import numpy as np

from proctor.vision import passive
from proctor.vision.quality import QualityReport, QualityThresholds, assess_face

MODELS_DIR_ENV = "PROCTOR_MODELS_DIR"
YUNET_FILE = "face_detection_yunet_2026may.onnx"
MINIFASNET_FILES = (  # (file, crop scale around the face box) as the models were trained
    ("minifasnet_v2_scale2.7_80x80.onnx", 2.7),
    ("minifasnet_v1se_scale4.0_80x80.onnx", 4.0),
)
TEMPLATE_DIM = 128


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

    # dlib's distance: genuine pairs sit near 0.35, impostors near 0.9 (docs/faces.md).
    match_distance: float = 0.6
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
    """The verdict on one photo. ``distance`` is set whenever exactly one face was encoded."""

    outcome: Outcome
    distance: float | None
    reasons: tuple[str, ...]
    faces: tuple[Face, ...] = ()
    quality: QualityReport | None = None
    live_score: float | None = None
    phash: int | None = None  # keep it: later photos are compared against it (replays)
    replay: passive.ReplayFinding | None = None  # the earlier photo it repeats, if any

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.MATCH


@dataclass(frozen=True)
class Enrolment:
    """Result of enrolling a photo: a template, or the reasons there is none."""

    template: np.ndarray | None
    reasons: tuple[str, ...]
    face: Face | None = None
    quality: QualityReport | None = None
    phash: int | None = None

    @property
    def ok(self) -> bool:
        return self.template is not None


def default_models_dir() -> Path:
    """models/ at the repository top, or $PROCTOR_MODELS_DIR."""
    env = os.environ.get(MODELS_DIR_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[3] / "models"


def face_distance(template: np.ndarray, encoding: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(template, np.float64) - encoding))


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
    def enrol(self, rgb: np.ndarray, policy: MatchPolicy | None = None) -> Enrolment:
        """Template from an enrolment photo: exactly one face, large, sharp and lit enough."""
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
        template = self.encode(rgb, face, policy.num_jitters)
        return Enrolment(template, (), face=face, quality=quality, phash=phash)

    def verify(
        self,
        rgb: np.ndarray,
        template: np.ndarray,
        policy: MatchPolicy | None = None,
        earlier: Sequence[passive.EarlierPhoto] = (),
        sha256: str | None = None,
    ) -> FaceResult:
        """Compare a snapshot with the enrolled template; see Outcome for the possible answers.

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
        phash = passive.perceptual_hash(rgb)
        all_faces = self.detect(rgb, policy)
        faces = self.significant_faces(all_faces, policy)
        if not faces:
            return FaceResult(Outcome.NO_FACE, None, ("no_face",), phash=phash)
        if len(faces) > 1:
            reason = f"multiple_faces:{len(faces)}"
            return FaceResult(Outcome.MULTIPLE_FACES, None, (reason,), tuple(faces), phash=phash)
        face = faces[0]
        quality = assess_face(rgb, face.box, policy.quality)
        distance = face_distance(template, self.encode(rgb, face, policy.num_jitters))
        wanted = policy.min_live_score is not None or policy.live_score_evidence
        live = self.live_score(rgb, face) if wanted else None
        replay = passive.find_replay(rgb, phash, earlier, policy.replay, sha256)
        common: dict[str, Any] = {"faces": (face,), "quality": quality, "live_score": live,
                                  "phash": phash, "replay": replay}
        if not quality.ok:
            return FaceResult(Outcome.POOR_QUALITY, distance, quality.reasons, **common)
        spoof_reasons = []
        if replay is not None and replay.kind is passive.ReplayKind.RESENT:
            spoof_reasons.append(replay.reason)
        if policy.min_live_score is not None and live is not None \
                and live < policy.min_live_score:
            spoof_reasons.append(f"recapture_suspected:live_score={live:.2f}")
        if spoof_reasons:
            return FaceResult(Outcome.SPOOF, distance, tuple(spoof_reasons), **common)
        near = () if replay is None else (replay.reason,)
        if distance > policy.match_distance:
            reason = f"distance_above_threshold:{distance:.3f}>{policy.match_distance}"
            return FaceResult(Outcome.MISMATCH, distance, (reason, *near), **common)
        if near:
            return FaceResult(Outcome.NEAR_DUPLICATE, distance, near, **common)
        return FaceResult(Outcome.MATCH, distance, (), **common)


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
