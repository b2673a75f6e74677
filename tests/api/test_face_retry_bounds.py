"""Bounded retries (issue #9 item 7): a failed liveness challenge is not reissued without end."""

from __future__ import annotations

import pytest

from proctor.config import Settings
from proctor.services.policies import policy_for
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import StudySession
from tests.face_flows import (
    ENROL_FRAME,
    burst,
    clip_frames,
    enrol_photo,
    frozen_burst,
    jpeg,
    set_action,
)
from tests.factories import Platform

pytestmark = pytest.mark.face


def send(platform: Platform, challenge_id: str, frames: list[bytes]):  # type: ignore[no-untyped-def]
    return platform.api.upload(f"/v1/challenges/{challenge_id}/photo",
                               [(f"f{i}.jpg", d) for i, d in enumerate(frames)])


def test_failed_liveness_ends_the_session_after_the_policy_bound(
        platform: Platform, settings: Settings) -> None:
    attempts = policy_for(settings).challenge_max_attempts
    assert attempts >= 2
    session_id = platform.ready_session()
    r = enrol_photo(platform, "stu-1", jpeg(clip_frames()[ENROL_FRAME]))
    assert r.status_code == 201, r.text
    seen = []
    for n in range(1, attempts + 1):
        c = platform.api.get(f"/v1/sessions/{session_id}/challenge")
        assert c.status_code == 200, (n, c.status_code)
        cid = c.json()["challenge_id"]
        assert c.json()["kind"] == "liveness" and cid not in seen
        seen.append(cid)
        body = send(platform, cid, frozen_burst()).json()
        assert body["status"] == "failed"
        if n < attempts:
            assert body["session_ended"] is None  # reissued: another try
        else:
            assert body["session_ended"] == f"challenge_attempts_exhausted:liveness:{attempts}"
    # no further challenge: the session is over, and a live burst can no longer be sent
    assert platform.api.get(f"/v1/sessions/{session_id}/challenge").status_code == 204
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        study = uow.session.get(StudySession, session_id)
        assert study is not None and study.status == "ended" and study.ended_at is not None
    got = platform.api.get(f"/v1/challenges/{seen[-1]}").json()
    assert got["session_ended"].startswith("challenge_attempts_exhausted")
    verdict = platform.api.get(f"/v1/sessions/{session_id}/verdict").json()
    assert any(v["rule"] == "FACE_LIVENESS" for v in verdict["violations"]), verdict


def test_a_pass_before_the_bound_keeps_the_session(platform: Platform,
                                                  settings: Settings) -> None:
    session_id = platform.ready_session()
    r = enrol_photo(platform, "stu-1", jpeg(clip_frames()[ENROL_FRAME]))
    assert r.status_code == 201, r.text
    cid = platform.api.get(f"/v1/sessions/{session_id}/challenge").json()["challenge_id"]
    assert send(platform, cid, frozen_burst()).json()["session_ended"] is None
    c2 = platform.api.get(f"/v1/sessions/{session_id}/challenge").json()
    set_action(settings, c2["challenge_id"], "turn_right")
    body = send(platform, c2["challenge_id"], burst(84)).json()
    assert body["status"] == "passed" and body["session_ended"] is None
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        study = uow.session.get(StudySession, session_id)
        assert study is not None and study.status == "open"
