"""Is the face in a photo usable: large enough, sharp enough, lit enough?

Measured on the face region only (a sharp background must not excuse a blurred face), after
resizing that region to a fixed size so that sharpness does not depend on the photo's
resolution. Thresholds come from the policy; the defaults here are only the policy's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Side of the square the face region is resized to before sharpness/contrast are measured.
_NORM_SIDE = 128


@dataclass(frozen=True)
class QualityThresholds:
    min_face_px: int = 80  # the shorter side of the face box, in pixels of the original image
    min_sharpness: float = 15.0  # variance of the Laplacian on the normalised face
    min_brightness: float = 50.0  # mean grey level of the face, 0..255
    max_brightness: float = 215.0
    min_contrast: float = 20.0  # standard deviation of grey levels on the face


@dataclass(frozen=True)
class QualityReport:
    ok: bool
    reasons: tuple[str, ...]
    face_px: int
    sharpness: float
    brightness: float
    contrast: float


def face_region(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The face box (x, y, w, h) clipped to the image, as a grey ``_NORM_SIDE`` square."""
    h_img, w_img = rgb.shape[:2]
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(w_img, x + w), min(h_img, y + h)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((_NORM_SIDE, _NORM_SIDE), np.uint8)
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (_NORM_SIDE, _NORM_SIDE), interpolation=cv2.INTER_AREA)


def assess_face(
    rgb: np.ndarray, box: tuple[int, int, int, int], thresholds: QualityThresholds
) -> QualityReport:
    """Measure the face in ``box`` and list every threshold it misses (reasons are stable codes)."""
    region = face_region(rgb, box)
    face_px = int(min(box[2], box[3]))
    sharpness = float(cv2.Laplacian(region, cv2.CV_64F).var())
    brightness = float(region.mean())
    contrast = float(region.std())
    reasons: list[str] = []
    if face_px < thresholds.min_face_px:
        reasons.append("face_too_small")
    if sharpness < thresholds.min_sharpness:
        reasons.append("too_blurry")
    if brightness < thresholds.min_brightness:
        reasons.append("too_dark")
    if brightness > thresholds.max_brightness:
        reasons.append("too_bright")
    if contrast < thresholds.min_contrast:
        reasons.append("low_contrast")
    return QualityReport(
        ok=not reasons,
        reasons=tuple(reasons),
        face_px=face_px,
        sharpness=sharpness,
        brightness=brightness,
        contrast=contrast,
    )
