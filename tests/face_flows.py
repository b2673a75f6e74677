"""Helpers for the face API tests: shared real photos, clip bursts, challenge rows."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from proctor.bench._faces_data import clip_frames, faces_dir
from proctor.config import Settings
from proctor.storage.db import engine_for, session_factory, unit_of_work
from proctor.storage.tables import Challenge, StudySession

OBAMA = "ageitgey/examples/obama.jpg"
OBAMA2 = "ageitgey/examples/obama2.jpg"
BIDEN = "ageitgey/examples/biden.jpg"
GROUP = "ageitgey/examples/knn_examples/test/obama_and_biden.jpg"
DOG = "dlib/examples/faces/dogs.jpg"
ENROL_FRAME = 150  # the Hamilton clip's performer facing the camera
# henan-2021 takes a single uploaded reference photo only as staff_reviewed (enrolment_sources):
# the tests that enrol one photo send it as a reviewed upload, through the same policy check
REVIEWER = "王老师（教务处）"


def photo(rel: str) -> bytes:
    path: Path = faces_dir() / rel
    return path.read_bytes()


def jpeg(rgb: np.ndarray, quality: int = 92) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def burst(start: int, step: int = 6, n: int = 8) -> list[bytes]:
    """n consecutive-ish frames of the real clip (0.2 s apart), as a client would send them."""
    frames = clip_frames()
    return [jpeg(frames[i]) for i in range(start, start + step * n, step)]


def frozen_burst(n: int = 8) -> list[bytes]:
    """One still frame sent n times, each JPEG-encoded at another quality."""
    still = clip_frames()[ENROL_FRAME + 3]
    return [jpeg(still, quality=80 + i) for i in range(n)]


def add_challenge(settings: Settings, session_id: str, kind: str = "photo", *,
                  action: str | None = None, issued_ago_s: float = 0.0,
                  expires_in_s: float = 60.0) -> str:
    """A challenge row of a fixed kind, as the scheduler would have issued it."""
    now = datetime.now(UTC)
    cid = str(uuid.uuid4())
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        study = uow.session.get(StudySession, session_id)
        assert study is not None
        uow.session.add(Challenge(
            id=cid, session_id=session_id, institution_id=study.institution_id, kind=kind,
            prompt="test", action=action, issued_at=now - timedelta(seconds=issued_ago_s),
            expires_at=now + timedelta(seconds=expires_in_s), outcome="pending",
            detail={"reason": "test"}))
    return cid


def set_action(settings: Settings, challenge_id: str, action: str) -> None:
    with unit_of_work(session_factory(engine_for(settings.database_url))) as uow:
        c = uow.session.get(Challenge, challenge_id)
        assert c is not None
        c.action = action


def enrol_photo(platform: Any, learner: str, data: bytes, *,
                reviewed_by: str | None = REVIEWER) -> Any:
    """POST one reference photo for ``learner`` (a staff-reviewed upload unless
    ``reviewed_by`` is None: a bare photo, which henan-2021 refuses)."""
    fields = None if reviewed_by is None else {"reviewed_by": reviewed_by}
    return platform.api.upload(f"/v1/learners/{learner}/face", [("face.jpg", data)],
                               fields=fields)
