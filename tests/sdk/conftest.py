"""The browser SDK in Debian's Chromium: the example course page served by the real app.

A fake camera (`--use-fake-device-for-media-stream --use-file-for-fake-video-capture`) plays a
.y4m made here, at test time, from the real phone front-camera clip (blink/phone_blinks.mp4,
portrait): a person blinking, so the opening liveness check (pinned to `blink`, the action the
clip performs) is passed by real frames through the real face pipeline. The lesson video is
made from the Hamilton clip (proctor.demo_player.media).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
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
from tests.processes import stop

BLINKS = "blink/phone_blinks.mp4"
# Chromium's fake capture device starts its file again at frame 0 each time a camera is opened
# (measured: getUserMedia, stop, getUserMedia shows frame 0 again), and the SDK opens the
# camera for each check and closes it afterwards. So what matters is not a loop length but which
# part of the file a capture lands in, counted from the moment the camera opened. The file is
# laid out in parts, at 15 fps (the clip's blinks shut the eyes for 3-4 frames: ≥ 200 ms here, so
# a burst of frames 150 ms apart always lands on one):
#
#   A  0-4.27 s    four 16-frame stretches, each around one blink (closed at 10-13, 40-43,
#                  82-84, 111-113): a blink every 1.07 s. The opening liveness check: its burst
#                  starts after the 2.1-s countdown, ≈ 2.3-3.3 s in (later on a loaded machine,
#                  and a slow machine stretches the burst: it may run on into C, harmless).
#   C  4.27-8.6 s  frames 198-262, the learner closer to the phone (a 0.75 crop: the face fills
#                  more of the picture). Photos are taken once the preview reaches PHOTO_AT_S.
#   B  8.6-10.7 s  two stretches around the later blinks (221-223, 239-241): a second liveness
#                  check of the same learner (the second-tab test) presses start when the
#                  preview reaches SECOND_LIVENESS_AT_S, so that its burst lands here, far from
#                  anything the first check can have sent (the replay check would rightly take
#                  those frames for a re-sent still: spoof).
#   T  10.7-11.8 s frames 121-137 closer to the phone: where a stretched burst from B runs on
#                  (rather than into A again, whose frames the first check sent).
#
# The clock is the preview's own: a camera <video>'s currentTime is where the file is (measured
# within 0.1 s), whatever the machine's load did to the steps before.
#
# Why C is a closer framing: the clip is a phone on a stand and a person holding still. Every
# frame is within 4 pHash bits of every other, and frames seconds apart differ by ≤ 1.5 grey
# levels once aligned (services.face_checks' replay check): any second photo made of the clip
# as it is, whatever frame, is a near_duplicate or a replayed still of the liveness burst
# (docs/faces.md lists "a learner who does not move at all" as not settled). A learner who moved
# since the check is a new picture, as a real one is.
#
# Why the whole file sways: the person in the clip holds so still that a burst inside part B
# (two contiguous stretches) changed by at most 0.96-1.1 grey levels from frame to frame, at the
# liveness policy's `min_motion` (1.0): on a loaded machine the burst lands there and is rightly
# taken for a frozen still (CI saw `frozen_burst:max_motion=1.00`). A learner at a phone sways a
# little; a drift of ≤ 5 px across and 3 px down (of 480×854), a 2-s swing, brings every burst
# in A, B and C to ≥ 2.6 (measured on the file), still a fraction of what a jump to another
# framing makes (≈ 36), and keeps the replay check's alignment able to find re-sent frames.
A_STRETCHES = (range(4, 20), range(34, 50), range(76, 92), range(105, 121))
B_STRETCHES = (range(218, 234), range(234, 250))
C_FRAMES = range(198, 263)
T_FRAMES = range(121, 138)
C_CROP = 0.75
CAMERA_FPS = 15
SWAY_PX = (5.0, 3.0)  # across, down
SWAY_PERIOD_S = 2.0
PHOTO_AT_S = 4.8  # part C
SECOND_LIVENESS_AT_S = 6.7  # + the 2.1-s countdown: the burst starts ≈ 8.8 s in (part B)
ENROL_FRAME = 0  # eyes open; ≥ 2 grey levels from every frame a check or a photo can capture


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


def closer(frame: np.ndarray, crop: float = C_CROP) -> np.ndarray:
    """The learner nearer to the camera: the middle ``crop`` of the picture (a little above
    the centre, where the face is), brought back to the full size."""
    h, w = frame.shape[:2]
    cw, ch = int(w * crop), int(h * crop)
    x, y = (w - cw) // 2, max(0, (h - ch) // 2 - h // 20)
    return cv2.resize(frame[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)


def swayed(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The frames moved as a learner sways: a slow swing across and a slower one down."""
    out = []
    for i, frame in enumerate(frames):
        phase = 2 * math.pi * i / (CAMERA_FPS * SWAY_PERIOD_S)
        shift = np.float32([[1, 0, SWAY_PX[0] * math.sin(phase)],
                            [0, 1, SWAY_PX[1] * math.sin(0.7 * phase)]])
        out.append(cv2.warpAffine(frame, shift, (frame.shape[1], frame.shape[0]),
                                  borderMode=cv2.BORDER_REFLECT))
    return out


def camera_frames() -> list[np.ndarray]:
    clip = clip_frames(C_FRAMES.stop)
    return swayed([clip[i] for stretch in A_STRETCHES for i in stretch]
                  + [closer(clip[i]) for i in C_FRAMES]
                  + [clip[i] for stretch in B_STRETCHES for i in stretch]
                  + [closer(clip[i]) for i in T_FRAMES])


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
    return write_y4m(camera_frames(), tmp_path_factory.mktemp("camera") / "phone_blinks.y4m",
                     CAMERA_FPS)


@pytest.fixture(scope="session")
def sdk_built() -> Path:
    bundle = SDK_DIST / "proctor-player.iife.js"
    if not bundle.exists():
        if not shutil.which("npm"):
            pytest.fail("npm is needed to build the SDK (scripts/sdk.sh)")
        subprocess.run(["bash", str(PROJECT_ROOT / "scripts" / "sdk.sh")], check=True)
    return bundle


@pytest.fixture(scope="session")
def camera_browser(fake_camera: Path, sdk_built: Path, playwright_driver: Any) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (scripts/browser.sh)")
    playwright = playwright_driver  # the session's one driver (tests/conftest.py)
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={fake_camera}",
              "--autoplay-policy=no-user-gesture-required"])
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def cdp_browser(fake_camera: Path, sdk_built: Path, playwright_driver: Any,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's Chromium started by the test itself (--headless=new), Playwright attached over
    CDP without its defaults. Playwright turns on focus emulation in every page it sets up,
    and that holds the page visible (a launched Chromium, or even an attached one's own new
    contexts, never report "hidden"); pages of this browser's default context, attached with
    ``no_defaults``, are left alone: a tab brought to the front really hides the others
    (document.visibilityState "hidden"), as a learner's other tab would. Use
    ``cdp_browser.contexts[0]``."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (scripts/browser.sh)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [str(CHROMIUM), "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={profile}",
         *CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
         f"--use-file-for-fake-video-capture={fake_camera}",
         "--autoplay-policy=no-user-gesture-required",
         # the demo lesson has no sound track, and Chromium pauses video-only media in a
         # hidden tab; a lesson with sound plays on there (the cheat this browser is for)
         "--disable-background-media-suspend", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the port Chromium picked (port 0: never one another process holds)
        active = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not open its debugging port (exit {proc.poll()})")
            time.sleep(0.1)
        port = int(active.read_text().split()[0])
        browser = playwright_driver.chromium.connect_over_cdp(f"http://127.0.0.1:{port}",
                                                         no_defaults=True)
        browser.contexts[0].grant_permissions(["camera"])
        yield browser
        browser.close()
    finally:
        stop(proc, timeout=10)


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
