"""Attack images made from real photos: what a cheating client could send instead of a live face.

Synthetic, so easier than real attacks: the figures they give are upper bounds on what the
cues catch (docs/faces.md says so).
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def jpeg_bytes(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def reencoded(rgb: np.ndarray, quality: int = 70, scale: float = 0.9) -> np.ndarray:
    """The same still, resized and re-compressed: a replay dressed up as a new photo."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    out = np.asarray(Image.open(io.BytesIO(jpeg_bytes(small, quality))).convert("RGB"))
    return np.ascontiguousarray(out)


def screen_recapture(rgb: np.ndarray, pitch: int = 3, angle_deg: float = 2.0) -> np.ndarray:
    """A phone/monitor showing the photo, filmed by a webcam.

    The photo is shown on an RGB-stripe pixel grid (``pitch`` camera pixels per screen pixel
    before the camera's resampling), slightly rotated, dimmed/blue-shifted like a backlit
    panel, then resampled to the camera's resolution: the grid beats with the sensor (moiré).
    """
    h, w = rgb.shape[:2]
    big = cv2.resize(rgb, (w * pitch, h * pitch), interpolation=cv2.INTER_NEAREST).astype(
        np.float32
    )
    stripes = np.zeros((1, pitch, 3), np.float32)
    for c in range(3):
        stripes[0, c % pitch, c] = 1.0
    mask = np.tile(stripes, (h * pitch, w, 1)) * 0.3 + 0.7
    mask[::pitch] *= 0.8  # dark rows between screen pixels
    shown = big * mask / mask.mean()
    centre = (w * pitch / 2, h * pitch / 2)
    rot = cv2.getRotationMatrix2D(centre, angle_deg, 1.0)
    shown = cv2.warpAffine(shown, rot, (w * pitch, h * pitch), borderMode=cv2.BORDER_REFLECT)
    cam = cv2.resize(shown, (w, h), interpolation=cv2.INTER_LINEAR)
    cam = cam * np.array([0.95, 0.97, 1.06], np.float32)  # a panel's bluish white
    return np.clip(cam, 0, 255).astype(np.uint8)


def print_recapture(rgb: np.ndarray, cell: int = 4) -> np.ndarray:
    """A halftone print of the photo on matt paper, photographed: dots, lower contrast."""
    h, w = rgb.shape[:2]
    big = cv2.resize(rgb, (w * 2, h * 2), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    yy, xx = np.mgrid[0 : h * 2, 0 : w * 2]
    # a 45°-rotated dot screen: ink where the tone is darker than the local dot threshold
    screen = (np.cos((xx + yy) * np.pi / cell) * np.cos((xx - yy) * np.pi / cell) + 1) / 2
    ink = (big < screen[..., None]).astype(np.float32)
    paper = 0.92 - 0.75 * ink  # paper white is not 1, ink black is not 0
    cam = cv2.GaussianBlur(cv2.resize(paper, (w, h), interpolation=cv2.INTER_AREA), (3, 3), 0.8)
    return np.clip(cam * 255, 0, 255).astype(np.uint8)


def blurred(rgb: np.ndarray, sigma: float = 4.0) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


def darkened(rgb: np.ndarray, factor: float = 0.15) -> np.ndarray:
    return np.clip(rgb.astype(np.float32) * factor, 0, 255).astype(np.uint8)


def filmed_recapture(rgb: np.ndarray, *, shift: float = 0.0, tilt: float = 0.0) -> np.ndarray:
    """A photo shown on a screen (or a print) and filmed again: placed in a frame by a
    perspective warp (``tilt`` turns the sheet about its vertical axis, ``shift`` moves it),
    with a pixel grid (moiré), a gamut change (a bluish, flatter screen) and a blur."""
    h, w = rgb.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dx = shift * w
    t = tilt * h
    dst = np.array([[0.12 * w + dx, 0.08 * h + t], [0.88 * w + dx, 0.08 * h - t],
                    [0.88 * w + dx, 0.92 * h + t], [0.12 * w + dx, 0.92 * h - t]], np.float32)
    warped = cv2.warpPerspective(rgb, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderValue=(40, 40, 45)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    grid = 0.88 + 0.12 * (np.sin(xx * 2.1) * np.sin(yy * 2.1))
    warped *= grid[..., None]
    warped = warped * np.array([0.92, 0.97, 1.08], np.float32) * 0.85 + 25
    blurred = cv2.GaussianBlur(warped, (3, 3), 0)
    return np.clip(blurred, 0, 255).astype(np.uint8)


def recapture_burst(rgb: np.ndarray, motion: str, n: int = 8) -> list[np.ndarray]:
    """``n`` frames of ``rgb`` filmed on a screen/print: ``held`` (hand shake: 1%-of-width
    shifts), ``tilted`` / ``tilted_back`` (the sheet turned about its vertical axis, ±2% of
    its height per frame, to fake a head turn)."""
    if motion == "held":
        return [filmed_recapture(rgb, shift=0.01 * i) for i in range(n)]
    step = 0.02 if motion == "tilted" else -0.02
    return [filmed_recapture(rgb, tilt=step * i) for i in range(n)]
