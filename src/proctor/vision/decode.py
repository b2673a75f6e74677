"""Safe decoding of untrusted uploads (enrolment photos, snapshots, liveness frames).

Everything a platform sends is hostile until proven otherwise: the format is decided by the
magic bytes (not the name or the Content-Type), the size by bytes and by pixel count *before*
the pixels are decompressed (a 50 KB PNG can inflate to gigabytes), and the result is always
an upright RGB uint8 array, whatever the orientation tag, palette, alpha or bit depth.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# 4096×4096: far above any webcam or phone selfie the service needs, far below a bomb.
MAX_PIXELS = 16_777_216

_MAGIC = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
}


class DecodeError(ValueError):
    """An upload the service refuses; ``code`` is stable for clients, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # H×W×3 uint8, upright
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    exif_rotated: bool


def sniff_format(data: bytes) -> str | None:
    """The image format named by the leading magic bytes, or None."""
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    return None


def decode_image(
    data: bytes, *, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS
) -> DecodedImage:
    """Decode an uploaded JPEG/PNG into an upright RGB uint8 array, or raise DecodeError.

    Codes: ``empty``, ``too_large`` (bytes), ``unsupported_format``, ``too_many_pixels``,
    ``corrupt``.
    """
    if not data:
        raise DecodeError("empty", "the upload is empty")
    if len(data) > max_bytes:
        raise DecodeError("too_large", f"{len(data)} bytes; at most {max_bytes} are accepted")
    expected = sniff_format(data)
    if expected is None:
        raise DecodeError("unsupported_format", "only JPEG and PNG images are accepted")
    try:
        # Image.open reads the header only: the size is known before any pixel is inflated.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[expected])
            width, height = img.size
            if width <= 0 or height <= 0:
                raise DecodeError("corrupt", "the image has no pixels")
            if width * height > max_pixels:
                raise DecodeError(
                    "too_many_pixels",
                    f"{width}×{height} pixels; at most {max_pixels} pixels are accepted",
                )
            img.load()
            upright = ImageOps.exif_transpose(img)
    except DecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError("too_many_pixels", str(exc)) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DecodeError("corrupt", f"the {expected} data cannot be decoded ({exc})") from exc
    rotated = _had_orientation(img)
    rgb = _to_rgb(upright)
    return DecodedImage(
        rgb=rgb, format=expected, width=rgb.shape[1], height=rgb.shape[0], exif_rotated=rotated
    )


def _had_orientation(img: Image.Image) -> bool:
    orientation = img.getexif().get(0x0112, 1)
    return orientation not in (None, 1)


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels carry arbitrary colour: put them on white, as a viewer would.
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(canvas, rgba)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale PNG: scale to 8 bits instead of clipping.
        arr = np.asarray(img, dtype=np.float64)
        peak = max(float(arr.max()), 1.0)
        grey = np.clip(arr * (255.0 / (65535.0 if peak > 255 else 255.0)), 0, 255)
        return np.ascontiguousarray(np.repeat(grey.astype(np.uint8)[..., None], 3, axis=2))
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
