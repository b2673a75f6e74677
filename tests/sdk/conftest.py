"""The browser SDK in Debian's Chromium: the example course page served by the real app.

A fake camera (`--use-fake-device-for-media-stream --use-file-for-fake-video-capture`) plays a
.y4m made here, at test time, from the real phone front-camera clip (blink/phone_blinks.mp4,
portrait): a person blinking, so the opening liveness check (pinned to `blink`, the action the
clip performs) is passed by real frames through the real face pipeline. The lesson video is
made from the Hamilton clip (proctor.demo_player.media).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from proctor.bench._faces_data import faces_dir
from proctor.config import PROJECT_ROOT, Settings
from proctor.demo_player.routes import SDK_DIST, DemoConfig
from proctor.main import create_app
from proctor.services import challenges
from tests.portal.conftest import CHROMIUM, CHROMIUM_ARGS, serve_in_thread

BLINKS = "blink/phone_blinks.mp4"
# The camera: the clip's first four blinks (closed at frames 10-13, 40-43, 82-85, 111-113), each
# in a 16-frame stretch with open eyes around it, played at 15 fps: a blink every 1.07 s, the
# eyes shut for 200-270 ms. A liveness burst (10 frames 150 ms apart, 1.35 s) always holds one.
BLINK_STRETCHES = (range(4, 20), range(34, 50), range(76, 92), range(105, 121))
CAMERA_FPS = 15
ENROL_FRAME = 205  # eyes open, outside the camera's stretch


def clip_frames(upto: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(faces_dir() / BLINKS))
    frames = []
    for _ in range(upto):
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == upto, "the blink clip is missing or short"
    return frames


def enrolment_jpeg() -> bytes:
    ok, data = cv2.imencode(".jpg", clip_frames(ENROL_FRAME + 1)[ENROL_FRAME],
                            [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


def write_y4m(frames: list[np.ndarray], path: Path, fps: int) -> Path:
    """YUV4MPEG2 (4:2:0) as Chromium's fake capture device reads it."""
    h, w = frames[0].shape[:2]
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            out.write(b"FRAME\n")
            out.write(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())
    return path


@pytest.fixture(scope="session")
def fake_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = clip_frames(BLINK_STRETCHES[-1].stop)
    frames = [clip[i] for stretch in BLINK_STRETCHES for i in stretch]
    return write_y4m(frames, tmp_path_factory.mktemp("camera") / "phone_blinks.y4m", CAMERA_FPS)


@pytest.fixture(scope="session")
def sdk_built() -> Path:
    bundle = SDK_DIST / "proctor-player.iife.js"
    if not bundle.exists():
        if not shutil.which("npm"):
            pytest.fail("npm is needed to build the SDK (scripts/sdk.sh)")
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "sdk.sh")], check=True)
    return bundle


@pytest.fixture(scope="session")
def camera_browser(fake_camera: Path, sdk_built: Path) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (scripts/browser.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={fake_camera}",
                  "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def lesson_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lesson")


@pytest.fixture
def pinned_blink(monkeypatch: pytest.MonkeyPatch) -> None:
    """The liveness action is drawn at random; the fake camera only blinks."""
    monkeypatch.setattr(challenges, "LIVENESS_ACTIONS",
                        {"blink": challenges.LIVENESS_ACTIONS["blink"]})


def policy_file(directory: Path, **changes: float) -> Path:
    """henan-2021 with some thresholds changed (a test knob: short class hours and gaps)."""
    text = (PROJECT_ROOT / "config" / "policies" / "henan-2021.toml").read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        key = line.split("=", 1)[0].strip()
        lines.append(f"{key} = {changes[key]}" if key in changes and "=" in line else line)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "henan-2021.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


@pytest.fixture
def serve(database_url: str, tmp_path: Path, lesson_dir: Path,
          pinned_blink: None) -> Iterator[Callable[..., str]]:
    """serve(lesson_seconds=, **policy changes) -> the base URL of the app on a free port."""
    stops: list[Iterator[str]] = []

    def start(lesson_seconds: int = 20, **policy: float) -> str:
        settings = Settings(database_url=database_url, blob_dir=tmp_path / "blobs", broker_url=None,
                            redis_url=None, embedded_beat_s=0,
                            policy_dir=policy_file(tmp_path / "policies", **policy))
        app = create_app(settings)
        app.state.demo_player = DemoConfig(video_dir=lesson_dir, lesson_seconds=lesson_seconds)
        gen = serve_in_thread(app)
        stops.append(gen)
        return next(gen)

    yield start
    for gen in stops:
        gen.close()
