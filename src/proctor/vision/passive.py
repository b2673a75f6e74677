"""Passive liveness cues that need no model: replayed stills, frozen bursts, recapture texture.

What each cue catches and misses is measured in docs/faces.md; none of them is proof alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import cv2
import numpy as np


def perceptual_hash(rgb: np.ndarray) -> int:
    """64-bit DCT perceptual hash (pHash): survives re-encoding, resizing and small edits.

    Written here rather than taken from ``imagehash`` because that package pulls in SciPy and
    PyWavelets for these few lines.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:8, :8].flatten()
    median = np.median(low[1:])  # the DC term says only how bright the picture is
    bits = low > median
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def closest_hash(phash: int, earlier: Iterable[int]) -> tuple[int, int] | None:
    """(index, Hamming distance) of the earlier hash nearest to ``phash``, or None if none."""
    best: tuple[int, int] | None = None
    for i, other in enumerate(earlier):
        d = hamming(phash, other)
        if best is None or d < best[1]:
            best = (i, d)
    return best


def burst_motion(frames: Sequence[np.ndarray]) -> list[float]:
    """Mean absolute grey-level change between consecutive frames (on 64×64 copies).

    A live person in front of a camera never holds every pixel still for seconds; a still
    sent several times (or re-encoded copies of it) changes only by compression noise.
    """
    smalls = [
        cv2.resize(
            cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA
        ).astype(np.float32)
        for f in frames
    ]
    return [float(np.abs(a - b).mean()) for a, b in zip(smalls, smalls[1:], strict=False)]


def is_static_burst(frames: Sequence[np.ndarray], min_motion: float) -> bool:
    """True when no two consecutive frames differ by more than ``min_motion`` grey levels."""
    motion = burst_motion(frames)
    return bool(motion) and max(motion) < min_motion


def moire_score(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Peakiness of the face region's high-frequency spectrum (recaptured screens, halftones).

    A screen's pixel grid or a print's halftone beats with the camera's sensor grid into
    periodic patterns: isolated peaks in the upper half of the spectrum. Natural skin and hair
    spread their high-frequency energy smoothly. The score is the strongest high-frequency
    peak over the median high-frequency magnitude (log domain), on a 128×128 face crop.
    """
    x, y, w, h = box
    H, W = rgb.shape[:2]
    crop = rgb[max(0, y) : min(H, y + h), max(0, x) : min(W, x + w)]
    if crop.size == 0:
        return 0.0
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    grey = cv2.resize(grey, (128, 128), interpolation=cv2.INTER_AREA)
    grey -= grey.mean()
    window = np.outer(np.hanning(128), np.hanning(128)).astype(np.float32)
    spectrum = np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(grey * window))))
    yy, xx = np.mgrid[-64:64, -64:64]
    radius = np.hypot(yy, xx)
    band = spectrum[(radius > 24) & (radius < 62)]
    return float(band.max() - np.median(band))


def specular_ratio(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Share of near-white, low-saturation pixels on the face: glare off glass or glossy paper."""
    x, y, w, h = box
    H, W = rgb.shape[:2]
    crop = rgb[max(0, y) : min(H, y + h), max(0, x) : min(W, x + w)]
    if crop.size == 0:
        return 0.0
    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
    glare = (hsv[..., 2] >= 245) & (hsv[..., 1] <= 30)
    return float(glare.mean())
