"""Decoding untrusted uploads: formats by magic bytes, size and pixel limits, EXIF orientation."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from proctor.bench._faces_data import faces_dir
from proctor.vision.decode import MAX_UPLOAD_BYTES, DecodeError, decode_image


def _png_bomb(side: int) -> bytes:
    """A valid greyscale PNG of side×side black pixels, a few hundred KB compressed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _code(data: bytes, **kw) -> str:
    with pytest.raises(DecodeError) as info:
        decode_image(data, **kw)
    return info.value.code


def test_jpeg_decodes_to_rgb_uint8():
    img = decode_image((faces_dir() / "ageitgey/examples/obama_small.jpg").read_bytes())
    assert img.format == "JPEG"
    assert img.rgb.dtype == np.uint8
    assert img.rgb.shape == (240, 320, 3)


def test_rgba_png_becomes_rgb():
    data = (faces_dir() / "ageitgey/tests/test_images/32bit.png").read_bytes()
    img = decode_image(data)
    assert img.format == "PNG"
    assert img.rgb.shape == (1200, 626, 3)


def test_png_bomb_is_refused_before_inflating():
    bomb = _png_bomb(10_000)  # 100 megapixels
    assert len(bomb) < MAX_UPLOAD_BYTES  # small on the wire: only the pixel check stops it
    assert _code(bomb) == "too_many_pixels"


def test_non_image_is_refused():
    assert _code(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n") == "unsupported_format"
    assert _code(b"GIF89a" + b"\x00" * 100) == "unsupported_format"
    assert _code(b"") == "empty"


def test_three_mib_file_is_refused():
    data = (faces_dir() / "ageitgey/examples/obama.jpg").read_bytes()
    padded = data + b"\x00" * (3 * 1024 * 1024 - len(data))  # decoders ignore trailing bytes
    assert _code(padded) == "too_large"


def test_truncated_jpeg_is_corrupt():
    data = (faces_dir() / "ageitgey/examples/obama.jpg").read_bytes()
    assert _code(data[:600]) == "corrupt"


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_exif_orientation_is_applied(orientation):
    """A phone stores pixels sideways plus an orientation tag; we must return them upright."""
    upright = Image.open(faces_dir() / "ageitgey/examples/obama.jpg").convert("RGB")
    # store the pixels the way a camera would for this tag (the inverse of the tag's rotation)
    stored = {
        6: upright.transpose(Image.Transpose.ROTATE_90),
        8: upright.transpose(Image.Transpose.ROTATE_270),
        3: upright.transpose(Image.Transpose.ROTATE_180),
    }[orientation]
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    img = decode_image(buf.getvalue())
    assert img.exif_rotated
    assert (img.width, img.height) == upright.size
    diff = np.abs(img.rgb.astype(int) - np.asarray(upright, dtype=int)).mean()
    assert diff < 3  # same picture up to JPEG noise


@pytest.mark.face
def test_exif_rotated_photo_yields_a_face_upright(engine):
    from proctor.vision.faces import MatchPolicy

    upright = Image.open(faces_dir() / "ageitgey/examples/obama.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buf, format="JPEG", exif=exif.tobytes())
    faces = engine.detect(decode_image(buf.getvalue()).rgb, MatchPolicy())
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert h >= w * 0.9  # an upright face box, not a sideways one
