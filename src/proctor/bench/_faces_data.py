"""The shared real photos (../shared/data/faces) as labelled sets, for tests and benchmarks.

Identity comes from each folder's MANIFEST.txt ``person`` column. Not used at run time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

SHARED_ENV = "PROCTOR_SHARED_DIR"


def shared_dir() -> Path:
    """$PROCTOR_SHARED_DIR, else shared/ beside the repository (…/repo/../shared).

    A git worktree one level deeper (…/wt/<name>) finds it one more level up.
    """
    env = os.environ.get(SHARED_ENV)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    candidates = [repo / ".." / "shared", repo / ".." / ".." / "shared"]
    for candidate in candidates:
        if (candidate / "data" / "faces").is_dir():
            return candidate.resolve()
    return candidates[0].resolve()


def faces_dir() -> Path:
    return shared_dir() / "data" / "faces"


@dataclass(frozen=True)
class Photo:
    path: Path
    person: str
    note: str
    sha12: str


# Files left out of the identity set, and why.
_EXCLUDED_NOTES = ("RGBA copy", "partial face")


def manifest(folder: str) -> list[Photo]:
    root = faces_dir() / folder
    rows = []
    for line in (root / "MANIFEST.txt").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        parts = line.split("\t")
        path, person, _size, sha12 = parts[:4]
        note = parts[4] if len(parts) > 4 else ""
        rows.append(Photo(root / path, person, note, sha12))
    return rows


def identity_photos() -> list[Photo]:
    """One-person photos with a known identity, byte-identical copies removed.

    Left out: multi-face scenes, unlabelled files, the video, the RGBA copy of obama2 and the
    deliberately occluded partial faces (they test detection, not identity).
    """
    seen: set[str] = set()
    out = []
    for folder in ("ageitgey", "lfw-subset", "dlib", "skimage"):
        for p in manifest(folder):
            if p.person.startswith(("MULTI", "UNLABELLED", "?")) or p.person == "-":
                continue
            if any(x in p.note for x in _EXCLUDED_NOTES) or p.sha12 in seen:
                continue
            if p.path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            seen.add(p.sha12)
            out.append(p)
    return out


def multi_face_photos() -> list[Path]:
    return [p.path for p in manifest("ageitgey") if p.person.startswith("MULTI")]


def dogs_photo() -> Path:
    return faces_dir() / "dlib" / "examples" / "faces" / "dogs.jpg"


def hamilton_clip() -> Path:
    return faces_dir() / "ageitgey" / "examples" / "short_hamilton_clip.mp4"


@cache
def clip_frames() -> tuple[np.ndarray, ...]:
    """Every frame of the real Hamilton clip (640×360, 29.97 fps) as RGB, decoded once per process.

    Shared read-only: callers must not modify the frames in place.
    """
    cap = cv2.VideoCapture(str(hamilton_clip()))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        frame.flags.writeable = False
        frames.append(frame)
    cap.release()
    return tuple(frames)


# People of the East Asian group besides east-asian/ (the learners are Chinese)
EAST_ASIAN_LFW = ("Yao_Ming", "Vicki_ZhaoWei")


def east_asian_photos() -> list[Photo]:
    """east-asian/: 13 Chinese identities, 3–4 web photos each (evaluation only)."""
    return [p for p in manifest("east-asian") if p.path.suffix.lower() in (".jpg", ".jpeg",
                                                                             ".png")]


def grouped_photos() -> dict[str, list[Photo]]:
    """``east_asian``: east-asian/ + Yao Ming + Zhao Wei; ``other``: every other identity."""
    others = identity_photos()
    ea = [p for p in others if p.person in EAST_ASIAN_LFW]
    return {"east_asian": east_asian_photos() + ea,
            "other": [p for p in others if p.person not in EAST_ASIAN_LFW]}


def person_folders(root: Path) -> dict[str, list[Path]]:
    """A folder of one subfolder per person → person → image files (sorted)."""
    exts = {".jpg", ".jpeg", ".png"}
    return {d.name: sorted(f for f in d.iterdir() if f.suffix.lower() in exts and f.is_file())
            for d in sorted(root.iterdir()) if d.is_dir()}
