"""Fixtures for the face tests: models loaded once per session, real photos from ../shared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proctor.bench._faces_data import clip_frames as read_clip_frames
from proctor.bench._faces_data import faces_dir
from proctor.vision.decode import decode_image


def load(rel: str) -> np.ndarray:
    """A shared photo, decoded the way uploads are (size limit lifted for the big originals)."""
    return decode_image((faces_dir() / rel).read_bytes(), max_bytes=64 * 1024 * 1024).rgb


@pytest.fixture(scope="session")
def shared_faces() -> Path:
    root = faces_dir()
    if not (root / "MANIFEST.md").exists():
        pytest.fail(f"shared face photos not found at {root} (set PROCTOR_SHARED_DIR)")
    return root


@pytest.fixture(scope="session")
def engine(shared_faces):
    from proctor.vision.faces import FaceEngine

    return FaceEngine()


@pytest.fixture(scope="session")
def landmarker(engine):
    from proctor.vision.liveness import Landmarker

    return Landmarker(engine.models_dir)


@pytest.fixture(scope="session")
def clip_frames(shared_faces) -> tuple[np.ndarray, ...]:
    """Every frame of the real Hamilton clip (640×360, 29.97 fps), as RGB."""
    frames = read_clip_frames()
    assert len(frames) > 200
    return frames
