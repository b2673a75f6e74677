"""Uploaded images at the door: decoded safely, or refused with a stable code; thumbnails.

Runs in the API process: PIL and numpy only (no dlib, no face models). A photo is decoded in
full here, so a corrupt or hostile file is refused before anything is stored.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from proctor.domain.errors import InvalidInput, PayloadTooLarge
from proctor.vision.decode import DecodedImage, DecodeError, decode_image

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
THUMB_MAX_SIDE = 240


@dataclass(frozen=True)
class CheckedImage:
    data: bytes  # exactly the bytes received (what is stored and hashed)
    image: DecodedImage

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.image.format]


def check_image(data: bytes, *, field: str = "image") -> CheckedImage:
    """Decode an upload or raise 413 (``too_large``) / 422 (``empty``, ``unsupported_format``,
    ``too_many_pixels``, ``corrupt``) naming the part."""
    try:
        return CheckedImage(data, decode_image(data))
    except DecodeError as exc:
        if exc.code == "too_large":
            raise PayloadTooLarge(f"{field}: {exc.message}", field=field, code="too_large") from None
        raise InvalidInput(f"{field}: {exc.message}", field=field, code=exc.code) from None


def thumbnail_jpeg(rgb: np.ndarray, max_side: int = THUMB_MAX_SIDE, quality: int = 80) -> bytes:
    """A small JPEG of an already decoded (upright) photo, for the review portal."""
    img = Image.fromarray(rgb)
    img.thumbnail((max_side, max_side))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality, optimize=True)
    return out.getvalue()


def phash_hex(value: int | None) -> str | None:
    return None if value is None else f"{value:016x}"
