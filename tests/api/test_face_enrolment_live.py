"""Live enrolment (issue #9 item 4) through the signed API, on real frames.

A reference photo comes from an enrolment liveness burst (the drawn action, not frozen, no
frame repeating an earlier photo) or it is marked as not live (`source` `photo`). A single
still, a frozen burst, a re-sent burst and print/screen recaptures built from the shared
photos are refused with `not_live` naming the cue.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from proctor.cli import app
from proctor.config import Settings
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import FaceEnrolment, FaceTemplate, Institution, Learner
from proctor.vision.decode import decode_image
from tests.face_flows import DOG, ENROL_FRAME, OBAMA, burst, clip_frames, frozen_burst, jpeg, photo
from tests.factories import Platform

pytestmark = pytest.mark.face


def open_check(platform: Platform, settings: Settings, action: str = "turn_right",
               learner: str = "stu-1") -> str:
    r = platform.api.post(f"/v1/learners/{learner}/face/liveness", {})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["action"] in ("turn_left", "turn_right", "open_mouth")
    assert body["frames"] == [5, 10] and body["upload_url"].endswith(body["submission_id"])
    # the action is drawn at random; the real clip performs a right turn at frame 84
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        row = uow.session.get(FaceEnrolment, body["submission_id"])
        assert row is not None and row.status == "awaiting_burst"
        row.reasons = [f"action:{action}"]
    return str(body["upload_url"])


def send(platform: Platform, url: str, frames: list[bytes]):  # type: ignore[no-untyped-def]
    return platform.api.upload(url, [(f"f{i}.jpg", d) for i, d in enumerate(frames)])


def recapture(rgb: np.ndarray, *, shift: float = 0.0, tilt: float = 0.0) -> np.ndarray:
    """A photo shown on a screen (or a print) and filmed again: placed in a frame by a
    perspective warp (``tilt`` turns the sheet about its vertical axis, ``shift`` moves it),
    with a pixel grid (moiré), a gamut change (a bluish, flatter screen) and a blur."""
    h, w = rgb.shape[:2]
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dx = shift * w
    t = tilt * h
    dst = np.float32([[0.12 * w + dx, 0.08 * h + t], [0.88 * w + dx, 0.08 * h - t],
                      [0.88 * w + dx, 0.92 * h + t], [0.12 * w + dx, 0.92 * h - t]])
    warped = cv2.warpPerspective(rgb, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderValue=(40, 40, 45)).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    grid = 0.88 + 0.12 * (np.sin(xx * 2.1) * np.sin(yy * 2.1))
    warped *= grid[..., None]
    warped = warped * np.float32([0.92, 0.97, 1.08]) * 0.85 + 25
    warped = cv2.GaussianBlur(warped, (3, 3), 0)
    return np.clip(warped, 0, 255).astype(np.uint8)


@pytest.fixture
def learner(platform: Platform) -> None:
    platform.ready_session()


def test_live_burst_enrols_marked_live(platform: Platform, settings: Settings,
                                       learner: None) -> None:
    r = send(platform, open_check(platform, settings), burst(84))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "enrolled" and body["source"] == "burst" and body["live"]
    got = platform.api.get("/v1/learners/stu-1/face").json()
    assert got["source"] == "burst" and got["live"] and got["enrolled"]


def test_single_photo_still_enrols_but_not_live(platform: Platform, learner: None) -> None:
    r = platform.api.upload("/v1/learners/stu-1/face", [("face.jpg", photo(OBAMA))])
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "photo" and r.json()["live"] is False


def test_single_still_as_a_burst_is_refused(platform: Platform, settings: Settings,
                                            learner: None) -> None:
    r = send(platform, open_check(platform, settings), [jpeg(clip_frames()[ENROL_FRAME])])
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "not_live"
    assert any(x.startswith("not_live:frame_count:1") for x in err["reasons"])
    assert platform.api.get("/v1/learners/stu-1/face").json()["enrolled"] is False


def test_frozen_burst_is_refused(platform: Platform, settings: Settings, learner: None) -> None:
    r = send(platform, open_check(platform, settings), frozen_burst())
    assert r.status_code == 422, r.text
    reasons = r.json()["error"]["reasons"]
    assert any(x.startswith("not_live:frozen_burst") for x in reasons), reasons


def test_resent_burst_is_refused_as_a_replay(platform: Platform, settings: Settings,
                                             learner: None) -> None:
    frames = burst(84)
    assert send(platform, open_check(platform, settings), frames).status_code == 201
    r = send(platform, open_check(platform, settings), frames)
    assert r.status_code == 422, r.text
    reasons = r.json()["error"]["reasons"]
    assert any(x.startswith("not_live:replayed_still") for x in reasons), reasons
    # the first, live enrolment stays in force
    assert platform.api.get("/v1/learners/stu-1/face").json()["enrolled"] is True


def test_answered_check_cannot_be_reused(platform: Platform, settings: Settings,
                                         learner: None) -> None:
    url = open_check(platform, settings)
    assert send(platform, url, frozen_burst()).status_code == 422
    assert send(platform, url, burst(84)).status_code == 409


@pytest.mark.parametrize(("motion", "action"), [
    ("held", "turn_right"), ("tilted", "turn_right"), ("held_turned_head", "turn_right"),
    ("tilted_back_cn105", "turn_left")])
def test_recaptured_photo_is_refused(platform: Platform, settings: Settings, learner: None,
                                     motion: str, action: str) -> None:
    """A shared photo on a screen/print filmed as a burst: held still-ish (small shifts) or
    the sheet turned about its vertical axis, as an attacker would to fake a head turn; and a
    still of a head already turned right (the clip's frame 150), whose yaw estimate jitters
    by 15° on one frame of the recapture: one frame is not a turn."""
    if motion == "held_turned_head":
        rgb = np.ascontiguousarray(clip_frames()[ENROL_FRAME])
    elif motion == "tilted_back_cn105":  # its yaw estimate jitters by ±13° when held still
        rgb = decode_image(photo("east-asian/cn105/105_1.jpg")).rgb
    else:
        still = photo(OBAMA)
        rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(still, np.uint8), cv2.IMREAD_COLOR),
                           cv2.COLOR_BGR2RGB)
    if motion.startswith("held"):
        frames = [jpeg(recapture(rgb, shift=0.01 * i)) for i in range(8)]
    elif motion == "tilted":
        frames = [jpeg(recapture(rgb, tilt=0.02 * i)) for i in range(8)]
    else:
        frames = [jpeg(recapture(rgb, tilt=-0.02 * i)) for i in range(8)]
    r = send(platform, open_check(platform, settings, action), frames)
    assert r.status_code == 422, r.text
    reasons = r.json()["error"]["reasons"]
    assert any(x.startswith(("not_live:action_not_seen", "not_live:frozen_burst"))
               for x in reasons), reasons


def test_staff_reviewed_upload_is_recorded_as_such(
        platform: Platform, settings: Settings, learner: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        inst = uow.session.scalar(select(Institution.name).join(
            Learner, Learner.institution_id == Institution.id).where(Learner.ext_id == "stu-1"))
    assert inst is not None
    (tmp_path / "face.jpg").write_bytes(photo(OBAMA))
    (tmp_path / "dog.jpg").write_bytes(photo(DOG))
    monkeypatch.setenv("PROCTOR_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROCTOR_BLOB_DIR", str(settings.blob_dir))
    from proctor.config import get_settings
    get_settings.cache_clear()
    try:
        no_face = CliRunner().invoke(app, ["faces", "enrol-reviewed", inst, "stu-1",
                                           str(tmp_path / "dog.jpg"), "--reviewer", "李老师"])
        out = CliRunner().invoke(app, ["faces", "enrol-reviewed", inst, "stu-1",
                                       str(tmp_path / "face.jpg"), "--reviewer", "李老师"])
    finally:
        get_settings.cache_clear()
    assert no_face.exit_code == 1 and "rejected" in no_face.output and "no_face" in no_face.output
    assert out.exit_code == 0, out.output
    got = platform.api.get("/v1/learners/stu-1/face").json()
    assert got["status"] == "enrolled" and got["source"] == "staff_reviewed"
    assert got["live"] is False
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        t = uow.session.scalar(select(FaceTemplate).where(FaceTemplate.active.is_(True)))
        assert t is not None and t.quality["reviewed_by"] == "李老师"
        assert t.quality["source"] == "staff_reviewed"
