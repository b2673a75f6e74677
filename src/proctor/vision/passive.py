"""Passive liveness cues that need no model: replayed stills, frozen bursts, recapture texture.

What each cue catches and misses is measured in docs/faces.md; none of them is proof alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

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


# --- replayed stills: a re-sent earlier photo vs a new capture of a motionless learner -----
#
# pHash alone cannot tell them apart: 9% of real frame pairs 1 s apart fall within Hamming 6
# (docs/faces.md). A re-sent still, even re-encoded, resized, cropped or re-lit, is the same
# pixels up to a global warp and a global brightness/contrast change; a new capture of a
# person differs somewhere (breathing, eyes, a hand, the head). So each earlier photo whose
# pHash is close is aligned to the new one (affine ECC), re-lit (least-squares gain and
# offset) and compared block by block: the largest block difference says whether anything in
# the picture moved. Measured separation and its limits: docs/faces.md, `bench replay`.

RESIDUAL_SIDE = 128  # longest side the comparison runs at: JPEG and sensor noise average out
RESIDUAL_BLUR = 1.5  # Gaussian sigma (px at RESIDUAL_SIDE) against resampling/JPEG ringing
RESIDUAL_BLOCK = 16  # block size (px at RESIDUAL_SIDE): ~1/8 of the picture, a face feature
_MAX_WARP = 0.25  # an alignment farther than this from identity is a failed one


def _grey_small(rgb: np.ndarray, side: int = RESIDUAL_SIDE) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    h, w = grey.shape
    scale = side / max(h, w)
    size = (max(RESIDUAL_BLOCK, round(w * scale)), max(RESIDUAL_BLOCK, round(h * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def _align(ref: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Affine warp taking ``ref`` coordinates to ``moving`` (ECC); identity when it fails."""
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
    try:  # (OpenCV's stubs have no overload with mask=None)
        _, warp = cv2.findTransformECC(  # type: ignore[call-overload]
            ref, moving, warp, cv2.MOTION_AFFINE, criteria, None, 5)
    except cv2.error:  # did not converge: the pictures are not one warp apart
        return np.eye(2, 3, dtype=np.float32)
    far = np.abs(warp[:, :2] - np.eye(2)).max() > _MAX_WARP
    if far or np.abs(warp[:, 2]).max() > _MAX_WARP * max(ref.shape):
        return np.eye(2, 3, dtype=np.float32)
    return warp


_TONE_BINS = 32
_MIN_BIN_SHARE = 0.005
_CLIP_LOW, _CLIP_HIGH = 3.0, 252.0  # grey levels (of 0–255) taken as clipped


def _tone_curve(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The global grey-level mapping x → y: mean of y per bin of x, linear in between."""
    bins = np.minimum((x * (_TONE_BINS / 256.0)).astype(np.int32), _TONE_BINS - 1)
    count = np.bincount(bins, minlength=_TONE_BINS)
    used = count >= max(1, _MIN_BIN_SHARE * len(x))  # a few pixels would fit their own noise
    centres = np.bincount(bins, weights=x, minlength=_TONE_BINS)[used] / count[used]
    means = np.bincount(bins, weights=y, minlength=_TONE_BINS)[used] / count[used]
    if len(centres) >= 2:  # beyond the outer bin centres: carry on with the outer slopes
        lo = means[0] + (means[1] - means[0]) / max(centres[1] - centres[0], 1e-3) * (
            -1 - centres[0])
        hi = means[-1] + (means[-1] - means[-2]) / max(centres[-1] - centres[-2], 1e-3) * (
            256 - centres[-1])
        centres, means = np.r_[-1.0, centres, 256.0], np.r_[lo, means, hi]

    def curve(img: np.ndarray) -> np.ndarray:
        return np.interp(img, centres, means).astype(np.float32)

    return curve


def still_residual(earlier: np.ndarray, later: np.ndarray) -> float:
    """Largest mean absolute grey-level difference of any 16×16 block (at 128 px) between
    ``later`` and ``earlier`` once ``later`` is aligned onto ``earlier`` and re-lit.

    ≈ 0–1 for the same still re-sent (re-encoded at JPEG 50–95, resized ±10 %, cropped a few
    per cent, brightness/contrast changed); ≥ 1.87 for two captures of people sitting
    still 0.5 s apart, ≥ 2.9 at 1 s (docs/faces.md). ``inf`` if no whole block overlaps.
    """
    ref = _grey_small(earlier)
    moving = cv2.resize(_grey_small(later), (ref.shape[1], ref.shape[0]),
                        interpolation=cv2.INTER_AREA)
    warp = _align(ref, moving)
    size = (ref.shape[1], ref.shape[0])
    inverse = cv2.WARP_INVERSE_MAP
    aligned = cv2.warpAffine(moving, warp, size, flags=cv2.INTER_LINEAR + inverse,
                             borderMode=cv2.BORDER_REPLICATE)
    valid: np.ndarray = cv2.warpAffine(np.ones_like(moving), warp, size,
                                       flags=cv2.INTER_NEAREST + inverse)
    # the blur below reaches ~3 sigma: blocks that close to the picture's edge are left out
    edge = np.ones((9, 9), np.uint8)
    valid = cv2.erode((valid > 0.5).astype(np.uint8), edge, borderType=cv2.BORDER_CONSTANT,
                      borderValue=0) > 0
    # pixels black or white in either picture say nothing (a darkened still clips its
    # shadows to 0): they are left out, with the reach of the blur around them
    clipped = (np.minimum(ref, aligned) <= _CLIP_LOW) | (np.maximum(ref, aligned) >= _CLIP_HIGH)
    usable = valid & ~(cv2.dilate(clipped.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    if usable.sum() < RESIDUAL_BLOCK**2:
        return math.inf
    # brightness, contrast, gamma: any global tone change is a curve aligned ≈ curve(ref),
    # fitted on the overlap; what the curve cannot explain is local
    ref = cv2.GaussianBlur(ref, (0, 0), RESIDUAL_BLUR)
    aligned = cv2.GaussianBlur(aligned, (0, 0), RESIDUAL_BLUR)
    residual = np.abs(aligned - _tone_curve(ref[usable], aligned[usable])(ref)) * usable
    b = RESIDUAL_BLOCK
    hb, wb = ref.shape[0] // b, ref.shape[1] // b

    def per_block(a: np.ndarray) -> np.ndarray:
        return a[: hb * b, : wb * b].reshape(hb, b, wb, b).swapaxes(1, 2).sum(axis=(2, 3))

    count = per_block(usable.astype(np.float32))
    # blocks wholly inside the overlap, at least a quarter of them usable
    inside = (per_block(valid.astype(np.float32)) == b * b) & (count >= b * b / 4)
    if not inside.any():
        return math.inf
    return float((per_block(residual)[inside] / count[inside]).max())


class ReplayKind(StrEnum):
    RESENT = "resent"  # the same still again: fatal (spoof)
    NEAR_DUPLICATE = "near_duplicate"  # too close to call: a new photo is asked for


@dataclass(frozen=True)
class EarlierPhoto:
    """An earlier photo of the learner as the replay check needs it.

    ``pixels`` loads the image when a pixel comparison is worth it (only for pHash-close
    photos); it returns None once the file is gone (retention), and the check falls back on
    the hashes."""

    phash: int
    sha256: str | None = None
    ref: str | None = None  # which photo, for reviewers
    pixels: Callable[[], np.ndarray | None] | None = None


@dataclass(frozen=True)
class ReplayThresholds:
    """Replay decision thresholds; the service builds them from the policy ([face])."""

    candidate_hamming: int = 20  # earlier photos this close in pHash are compared by pixels
    max_residual: float = 1.5  # still_residual at or below this: the same still (spoof)
    near_duplicate_hamming: int = 6  # this close and not proven the same: near_duplicate
    max_candidates: int = 3  # pixel comparisons per photo (the nearest hashes first)


@dataclass(frozen=True)
class ReplayFinding:
    kind: ReplayKind
    hamming: int
    residual: float | None  # None: identical bytes, or the earlier pixels were not available
    identical_bytes: bool = False
    ref: str | None = None

    @property
    def reason(self) -> str:
        """A reviewer-visible reason carrying the distances."""
        label = "replayed_still" if self.kind is ReplayKind.RESENT else "near_duplicate"
        parts = [f"hamming={self.hamming}"]
        if self.identical_bytes:
            parts.append("identical_bytes")
        elif self.residual is None:
            parts.append("pixels=unavailable")
        else:
            parts.append(f"residual={self.residual:.2f}")
        if self.ref:
            parts.append(f"of={self.ref}")
        return f"{label}:{','.join(parts)}"


def find_replay(rgb: np.ndarray, phash: int, earlier: Sequence[EarlierPhoto],
                thresholds: ReplayThresholds, sha256: str | None = None) -> ReplayFinding | None:
    """Is this photo an earlier photo of the learner sent again?

    RESENT when its bytes are an earlier photo's, or when a pHash-close earlier photo differs
    from it by no more than a global warp and re-lighting (``still_residual`` ≤
    ``max_residual``). NEAR_DUPLICATE when the pHash is within ``near_duplicate_hamming`` of an
    earlier photo but that could not be proven: still people produce those too, so it asks
    for another photo instead of failing anyone. None otherwise.
    """
    if sha256 is not None:
        for e in earlier:
            if e.sha256 == sha256:
                return ReplayFinding(ReplayKind.RESENT, hamming(phash, e.phash), None,
                                     identical_bytes=True, ref=e.ref)
    scored = sorted(((hamming(phash, e.phash), i) for i, e in enumerate(earlier)))
    near = [(d, earlier[i]) for d, i in scored if d <= thresholds.candidate_hamming]
    closest: ReplayFinding | None = None
    for d, e in near[: thresholds.max_candidates]:
        pixels = e.pixels() if e.pixels is not None else None
        residual = still_residual(pixels, rgb) if pixels is not None else None
        if residual is not None and residual <= thresholds.max_residual:
            return ReplayFinding(ReplayKind.RESENT, d, residual, ref=e.ref)
        if closest is None and d <= thresholds.near_duplicate_hamming:
            closest = ReplayFinding(ReplayKind.NEAR_DUPLICATE, d, residual, ref=e.ref)
    return closest


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
    grey: np.ndarray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
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
