"""Active liveness: the service draws an action, the learner performs it in a burst of frames.

Signals per frame:
  * eye aspect ratio (EAR) and mouth aspect ratio (MAR) from MediaPipe's 478-point face mesh
    (Apache-2.0; dlib's 68-point model is non-commercial and is not used);
  * head yaw from cv2.solvePnP on YuNet's five points against a generic 3-D face.
Every frame must also hold exactly one face that matches the enrolled template, and the
burst must not be frozen (passive.is_static_burst). The action is drawn by the caller with
its own random source: this module never draws anything itself.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from proctor.vision import passive
from proctor.vision.faces import (
    Face,
    FaceEngine,
    MatchPolicy,
    Outcome,
    Templates,
    mean_embedding,
    mismatch_reasons,
    model_distance,
)
from proctor.vision.models import ALL_MODELS

LANDMARKER_FILE = "face_landmarker.task"

# MediaPipe face-mesh indices: the six classic EAR points of each eye, and the inner lips.
_RIGHT_EYE = (33, 160, 158, 133, 153, 144)
_LEFT_EYE = (362, 385, 387, 263, 373, 380)
_MOUTH = (78, 13, 308, 14)  # left corner, upper lip, right corner, lower lip (inner contour)

# Generic face in camera-like axes (x to the image's right, y down, z away from the camera),
# millimetres, in YuNet's point order: right eye, left eye, nose tip, right/left mouth corner.
_FACE_3D = np.array(
    [(-165, -170, 135), (165, -170, 135), (0, 0, 0), (-150, 150, 125), (150, 150, 125)],
    dtype=np.float64,
)


class Action(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"  # the learner turns to their own left
    TURN_RIGHT = "turn_right"
    OPEN_MOUTH = "open_mouth"


def draw_action(rng: random.Random) -> Action:
    """Pick the challenge's action with the caller's random source (seeded in tests)."""
    return rng.choice(list(Action))


@dataclass(frozen=True)
class LivenessPolicy:
    min_frames: int = 5
    max_frames: int = 10
    blink_drop: float = 0.3  # EAR must fall by this share below the open-eye level, then reopen
    mouth_open_mar: float = 0.35  # inner-lip height / width when the mouth counts as open
    mouth_rise: float = 0.2  # and it must have risen by this much within the burst
    turn_min_deg: float = 20.0  # yaw change from the first frame in the asked direction
    # ... on at least this many frames: the yaw estimate of a recaptured still of an already
    # turned head jitters by up to ~17° (measured: docs/faces.md, "Enrolment is as live…")
    turn_min_frames: int = 2
    # frames are as the camera saw them (not mirrored like a selfie preview); a client that
    # sends mirrored frames sets this and left/right swap
    mirrored: bool = False
    # consecutive frames differing by less than this (mean grey level on 64×64) are frozen:
    # re-encoded copies of one still measured 0.05–0.5 (up to ~1 on 150 px chips), real
    # bursts of the clip 7.5 and more; a learner sitting very still is the open question
    min_motion: float = 1.0
    # frames without a face tolerated in a burst (motion blur, a hand): one bad frame must
    # not fail a learner. Another person or a second face is never tolerated.
    max_missing_frames: int = 1
    match: MatchPolicy = field(default_factory=MatchPolicy)


@dataclass(frozen=True)
class FrameSignals:
    faces: int
    distance: float | None = None  # of the deciding model
    ear: float | None = None
    mar: float | None = None
    yaw_deg: float | None = None  # + = facing the image's right = the learner's left
    embeddings: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)
    distances: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LivenessResult:
    outcome: Outcome  # MATCH when alive and the right person
    action: Action
    action_seen: bool
    reasons: tuple[str, ...]
    frames: tuple[FrameSignals, ...]
    max_distance: float | None
    motion: tuple[float, ...]
    # the burst's identity: distance of the frames' mean embedding (deciding model)
    burst_distance: float | None = None

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.MATCH


class Landmarker:
    """MediaPipe face landmarker (478 points), loaded once; imported lazily (heavy)."""

    def __init__(self, models_dir: Path) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(models_dir / LANDMARKER_FILE)),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)

    def points(self, rgb: np.ndarray) -> np.ndarray | None:
        """478×2 pixel coordinates of the most prominent face, or None."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        result = self._landmarker.detect(image)
        if not result.face_landmarks:
            return None
        h, w = rgb.shape[:2]
        return np.array([(p.x * w, p.y * h) for p in result.face_landmarks[0]], np.float64)


def eye_aspect_ratio(points: np.ndarray) -> float:
    """Mean EAR of both eyes (Soukupová & Čech 2016): ~0.25–0.35 open, < 0.15 closed."""

    def one(idx: tuple[int, ...]) -> float:
        p = points[list(idx)]
        vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
        return float(vertical / (2.0 * max(float(np.linalg.norm(p[0] - p[3])), 1e-6)))

    return (one(_RIGHT_EYE) + one(_LEFT_EYE)) / 2


def mouth_aspect_ratio(points: np.ndarray) -> float:
    left, top, right, bottom = (points[i] for i in _MOUTH)
    return float(np.linalg.norm(top - bottom) / max(float(np.linalg.norm(left - right)), 1e-6))


def head_yaw(face: Face, image_size: tuple[int, int]) -> float | None:
    """Yaw in degrees from YuNet's five points (solvePnP); + = facing the image's right.

    SQPnP, not EPnP: on eight re-encodings of one still, EPnP jumped between -1° and -24°
    (five points are too few for it), SQPnP stayed within 0.5°.
    """
    h, w = image_size
    camera = np.array([[w, 0, w / 2], [0, w, h / 2], [0, 0, 1]], np.float64)
    ok, rvec, _tvec = cv2.solvePnP(
        _FACE_3D, face.points.astype(np.float64), camera, None, flags=cv2.SOLVEPNP_SQPNP
    )
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    forward = rotation @ np.array([0.0, 0.0, -1.0])  # the face's "towards the camera" axis
    return math.degrees(math.atan2(forward[0], -forward[2]))


def frame_signals(
    engine: FaceEngine,
    landmarker: Landmarker,
    rgb: np.ndarray,
    templates: Templates | None,
    policy: LivenessPolicy,
) -> FrameSignals:
    """One frame's signals; ``templates`` None (enrolment) embeds without comparing."""
    m = policy.match
    faces = engine.significant_faces(engine.detect(rgb, m), m)
    if len(faces) != 1:
        return FrameSignals(faces=len(faces))
    face = faces[0]
    models = m.matcher.models if templates is not None else tuple(ALL_MODELS)
    embeddings = engine.embed_all(rgb, face, models, m.num_jitters)
    distances = ({k: model_distance(k, templates[k], e) for k, e in embeddings.items()}
                 if templates is not None else {})
    points = landmarker.points(rgb)
    ear = eye_aspect_ratio(points) if points is not None else None
    mar = mouth_aspect_ratio(points) if points is not None else None
    return FrameSignals(1, distances.get(m.matcher.deciding_model), ear, mar,
                        head_yaw(face, rgb.shape[:2]), embeddings, distances)


def action_seen(action: Action, frames: Sequence[FrameSignals], policy: LivenessPolicy) -> bool:
    """Do the per-frame signals show the asked action?"""
    if action is Action.BLINK:
        ears = [f.ear for f in frames if f.ear is not None]
        for j in range(1, len(ears) - 1):
            before, after = max(ears[:j]), max(ears[j + 1 :])
            level = 1 - policy.blink_drop
            if ears[j] <= level * before and ears[j] <= level * after:
                return True
        return False
    if action is Action.OPEN_MOUTH:
        mars = [f.mar for f in frames if f.mar is not None]
        return (
            bool(mars)
            and max(mars) >= policy.mouth_open_mar
            and (max(mars) - mars[0] >= policy.mouth_rise)
        )
    yaws = [f.yaw_deg for f in frames if f.yaw_deg is not None]
    if len(yaws) < 2:
        return False
    # the learner's left is the image's right (+yaw) unless the client mirrors its frames
    sign = 1.0 if (action is Action.TURN_LEFT) != policy.mirrored else -1.0
    turned = sum(sign * (y - yaws[0]) >= policy.turn_min_deg for y in yaws[1:])
    return turned >= policy.turn_min_frames


def check_active(
    engine: FaceEngine,
    landmarker: Landmarker,
    frames: Sequence[np.ndarray],
    action: Action,
    templates: Templates | None,
    policy: LivenessPolicy | None = None,
) -> LivenessResult:
    """Judge a liveness burst: right number of frames, one matching face in each, not frozen,
    and the asked action visible. Outcome MATCH means passed; SPOOF covers a frozen burst or
    an action not performed (reasons say which); the face outcomes keep their usual meaning,
    the strongest across frames winning: mismatch, then multiple_faces, then no_face.
    """
    policy = policy or LivenessPolicy()
    reasons: list[str] = []
    if not policy.min_frames <= len(frames) <= policy.max_frames:
        reason = f"frame_count:{len(frames)}_not_in_{policy.min_frames}..{policy.max_frames}"
        return LivenessResult(Outcome.NO_FACE, action, False, (reason,), (), None, ())
    signals = tuple(frame_signals(engine, landmarker, f, templates, policy) for f in frames)
    motion = tuple(passive.burst_motion(frames))
    distances = [s.distance for s in signals if s.distance is not None]
    max_distance = max(distances) if distances else None
    seen = action_seen(action, signals, policy)
    m = policy.match
    burst: dict[str, float] = {}
    if templates is not None:
        for model in m.matcher.models:
            embs = [s.embeddings[model] for s in signals if model in s.embeddings]
            if embs:
                burst[model] = model_distance(model, templates[model],
                                              mean_embedding(model, embs))
    burst_distance = burst.get(m.matcher.deciding_model)

    def result(outcome: Outcome) -> LivenessResult:
        return LivenessResult(outcome, action, seen, tuple(reasons), signals, max_distance,
                              motion, burst_distance)

    # strongest evidence first: another person, then a second face, then a missing face.
    # Several frames, one decision: the burst's mean embedding decides who it is, so one
    # borderline frame (blur, a turned head) does not fail it; a frame that is certainly
    # someone else does, whatever the mean says.
    certain = [i for i, s in enumerate(signals)
               if (s.distance or 0) >= m.certain_mismatch_distance]
    if certain:
        reasons += [f"distance_above_threshold:frame={i}" for i in certain]
        return result(Outcome.MISMATCH)
    if burst:
        why = mismatch_reasons(burst, m)
        if why:
            reasons += [f"burst_{r}" for r in why]
            return result(Outcome.MISMATCH)
    if any(s.faces > 1 for s in signals):
        reasons += [f"multiple_faces:frame={i}" for i, s in enumerate(signals) if s.faces > 1]
        return result(Outcome.MULTIPLE_FACES)
    if sum(s.faces == 0 for s in signals) > policy.max_missing_frames:
        reasons += [f"no_face:frame={i}" for i, s in enumerate(signals) if s.faces == 0]
        return result(Outcome.NO_FACE)
    if motion and max(motion) < policy.min_motion:
        reasons.append(f"frozen_burst:max_motion={max(motion):.2f}")
    if not seen:
        reasons.append(f"action_not_seen:{action.value}")
    return result(Outcome.SPOOF if reasons else Outcome.MATCH)
