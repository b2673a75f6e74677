"""Live enrolment (issue #9 item 4) through the signed API, on real frames.

A reference photo comes from an enrolment liveness burst (the drawn action, not frozen, no
frame repeating an earlier photo) or from a staff-reviewed upload; a bare single photo is
refused under henan-2021's `enrolment_sources`. A single
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

from proctor.bench._attacks import recapture_burst
from proctor.cli import app
from proctor.config import Settings
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import FaceEnrolment, FaceTemplate, Institution, Learner
from proctor.vision.decode import decode_image
from tests.face_flows import (
    DOG,
    ENROL_FRAME,
    OBAMA,
    burst,
    clip_frames,
    enrol_photo,
    frozen_burst,
    jpeg,
    photo,
)
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


def test_a_bare_single_photo_is_refused_live_enrolment_required(
        platform: Platform, settings: Settings, learner: None) -> None:
    """henan-2021's enrolment_sources = ["burst", "staff_reviewed"]: one photo without a
    reviewer is not a reference photo; the answer names the liveness endpoint."""
    r = enrol_photo(platform, "stu-1", photo(OBAMA), reviewed_by=None)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "live_enrolment_required"
    assert "POST /v1/learners/stu-1/face/liveness" in err["message"]
    assert "reviewed_by" in err["message"]
    assert platform.api.get("/v1/learners/stu-1/face").json()["status"] == "none"
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        assert uow.session.scalars(select(FaceEnrolment)).all() == []  # nothing kept
    blank = enrol_photo(platform, "stu-1", photo(OBAMA), reviewed_by="   ")
    assert blank.status_code == 422 and blank.json()["error"]["code"] == "live_enrolment_required"


def test_a_staff_reviewed_single_photo_enrols_marked_as_such(
        platform: Platform, settings: Settings, learner: None) -> None:
    r = enrol_photo(platform, "stu-1", photo(OBAMA), reviewed_by="李老师")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["source"] == "staff_reviewed" and body["live"] is False and body["enrolled"]
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        (row,) = uow.session.scalars(select(FaceEnrolment)).all()
        assert (row.source, row.reviewed_by) == ("staff_reviewed", "李老师")
        templates = uow.session.scalars(select(FaceTemplate)).all()
        assert templates and all(t.quality["reviewed_by"] == "李老师" for t in templates)


def test_a_policy_listing_photo_takes_the_bare_upload(settings: Settings, platform: Platform,
                                                      learner: None) -> None:
    import dataclasses
    from datetime import UTC, datetime

    from proctor.domain.errors import InvalidInput
    from proctor.domain.policy import load_policy
    from proctor.services.faces import submit_enrolment
    from proctor.storage.blobs import blob_store_from_settings

    henan = load_policy("henan-2021")
    open_policy = dataclasses.replace(henan, enrolment_sources=("photo", "burst"))
    store = blob_store_from_settings(settings)
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        inst = uow.session.scalar(select(Institution))
        assert inst is not None
        row = submit_enrolment(uow, institution_id=inst.id, learner_ext_id="stu-1",
                               data=photo(OBAMA), store=store, now=datetime.now(UTC),
                               policy=open_policy)
        assert row.source == "photo" and row.reviewed_by is None
        with pytest.raises(InvalidInput, match="staff reviewed"):  # not in this list
            submit_enrolment(uow, institution_id=inst.id, learner_ext_id="stu-1",
                             data=photo(OBAMA), store=store, now=datetime.now(UTC),
                             policy=open_policy, reviewed_by="李老师")


def test_an_enrolment_check_expires_like_a_session_challenge(
        platform: Platform, settings: Settings, learner: None) -> None:
    from datetime import timedelta

    url = open_check(platform, settings)
    sid = url.rsplit("/", 1)[1]
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        row = uow.session.get(FaceEnrolment, sid)
        assert row is not None
        row.submitted_at = row.submitted_at - timedelta(seconds=61)  # challenge_expiry_s 60
    r = send(platform, url, burst(84))
    assert r.status_code == 410, r.text
    err = r.json()["error"]
    assert err["code"] == "expired" and "/v1/learners/stu-1/face/liveness" in err["message"]
    assert platform.api.get("/v1/learners/stu-1/face").json()["enrolled"] is False
    # a fresh check with the same live burst enrols
    assert send(platform, open_check(platform, settings), burst(84)).status_code == 201


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
    kind = ("held" if motion.startswith("held") else "tilted" if motion == "tilted"
            else "tilted_back")
    frames = [jpeg(f) for f in recapture_burst(rgb, kind)]
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
