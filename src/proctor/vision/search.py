"""1:N search of one template against a gallery of enrolled templates (numpy, no model).

The gallery is a float32 matrix of unit vectors (SFace) or raw vectors (dlib); one matrix
product gives every cosine. Measured at 100k and 1M synthetic templates, against faiss-cpu
too, by `python -m proctor.bench face_models` (docs/faces.md "One person, one identity").
"""

from __future__ import annotations

import numpy as np

from proctor.vision.models import SFACE_MODEL


def gallery_matrix(model: str, vectors: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """N×128 float32, rows L2-normalised for SFace (so that a dot product is a cosine)."""
    m = np.asarray(vectors, np.float32).reshape(-1, 128)
    if model == SFACE_MODEL and len(m):
        m = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(m)


def distances(model: str, query: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Distance of ``query`` to every row, in the model's metric (SFace 1 − cosine)."""
    if not len(gallery):
        return np.zeros(0, np.float32)
    q = np.asarray(query, np.float32).reshape(128)
    if model == SFACE_MODEL:
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        return np.asarray(1.0 - gallery @ q)
    # Euclidean via |a|² − 2ab + |b|², one matrix product as well
    sq = np.einsum("ij,ij->i", gallery, gallery) - 2.0 * (gallery @ q) + float(q @ q)
    return np.asarray(np.sqrt(np.maximum(sq, 0.0)))


def within(model: str, query: np.ndarray, gallery: np.ndarray,
           max_distance: float) -> list[tuple[int, float]]:
    """Rows at or below ``max_distance``, nearest first: (row index, distance)."""
    d = distances(model, query, gallery)
    idx = np.flatnonzero(d <= max_distance)
    return sorted(((int(i), float(d[i])) for i in idx), key=lambda t: t[1])
