"""The demo lesson's video: frames of the real Hamilton clip with a title and a progress bar,
encoded to WebM (VP8) with OpenCV, with a quiet sound track (Opus, a low hum standing in for
the narration; muxed by the ffmpeg that imageio-ffmpeg ships), made once and kept (not
committed).

The sound track matters: browsers pause a video with no sound (or muted) in a hidden tab,
but play one with sound on, and a lecture playing in a tab behind another is what
MULTI_WINDOW is about (tests/sdk)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from pathlib import Path

import cv2
import numpy as np

from proctor.config import PROJECT_ROOT

CLIP = "ageitgey/examples/short_hamilton_clip.mp4"
SIZE = (480, 270)
FPS = 12
_lock = threading.Lock()


def clip_path() -> Path:
    """The clip in shared/data/faces: $PROCTOR_SHARED_DIR, else beside the repository (or the
    worktree's repository)."""
    env = os.environ.get("PROCTOR_SHARED_DIR")
    roots = [Path(env)] if env else [PROJECT_ROOT.parent / "shared", PROJECT_ROOT.parent.parent / "shared"]
    for root in roots:
        if (root / "data" / "faces" / CLIP).exists():
            return root / "data" / "faces" / CLIP
    raise FileNotFoundError(f"the Hamilton clip ({CLIP}) is not under {roots[0]}/data/faces")


def _frames(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        out.append(cv2.resize(frame, SIZE, interpolation=cv2.INTER_AREA))
    cap.release()
    if not out:
        raise ValueError(f"no frames decoded from {path}")
    return out


def make_lesson_video(out: Path, seconds: int) -> Path:
    """A ``seconds``-long WebM lesson at ``out`` (written whole, then moved into place)."""
    with _lock:
        if out.exists():
            return out
        frames = _frames(clip_path())
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".webm", dir=out.parent)
        os.close(fd)
        writer = cv2.VideoWriter(tmp, cv2.VideoWriter.fourcc(*"VP80"), FPS, SIZE)
        if not writer.isOpened():
            raise RuntimeError("OpenCV cannot write WebM (VP8) here")
        total = seconds * FPS
        w, h = SIZE
        for i in range(total):
            # the clip at about its own pace (30 fps source, 12 fps out), back and forth
            k = (i * 5 // 2) % (2 * len(frames) - 2)
            frame = frames[k if k < len(frames) else 2 * len(frames) - 2 - k].copy()
            t = i / FPS
            cv2.rectangle(frame, (0, 0), (w, 28), (32, 32, 32), -1)
            cv2.putText(frame, f"proctor demo lesson 1   {int(t) // 60:02d}:{int(t) % 60:02d} / "
                        f"{seconds // 60:02d}:{seconds % 60:02d}", (8, 19), cv2.FONT_HERSHEY_SIMPLEX,
                        0.5, (255, 255, 255), 1, cv2.LINE_AA)
            cv2.rectangle(frame, (0, h - 6), (int(w * (i + 1) / total), h), (194, 102, 10), -1)
            writer.write(frame)
        writer.release()
        fd, muxed = tempfile.mkstemp(suffix=".webm", dir=out.parent)
        os.close(fd)
        try:
            with_sound_track(Path(tmp), Path(muxed), seconds)
            os.replace(muxed, out)
        finally:
            Path(tmp).unlink(missing_ok=True)
            Path(muxed).unlink(missing_ok=True)
        return out


def with_sound_track(video: Path, out: Path, seconds: int) -> None:
    """``video`` with an Opus track: a 220 Hz hum at -30 dB, as long as the lesson."""
    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-i", str(video), "-f", "lavfi", "-i", f"sine=frequency=220:sample_rate=48000:duration={seconds}",
         "-filter:a", "volume=0.03", "-c:v", "copy", "-c:a", "libopus", "-b:a", "24k",
         "-shortest", str(out)],
        check=True, capture_output=True, timeout=120)
