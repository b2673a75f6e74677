"""Fixtures for the face tests: models loaded once per session, real photos from ../shared."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from proctor.bench._faces_data import faces_dir, hamilton_clip
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
def clip_frames(shared_faces) -> list[np.ndarray]:
    """Every frame of the real Hamilton clip (640×360, 29.97 fps), as RGB."""
    cap = cv2.VideoCapture(str(hamilton_clip()))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    assert len(frames) > 200
    return frames
