"""STAND-IN for the face pipeline: photo outcomes written straight through the storage layer.

The real path is `POST /v1/challenges/{id}/photo` (multipart frames) -> blob store -> a vision
task that detects, matches and checks liveness -> `Photo.outcome` and the challenge's outcome
-> re-evaluation. Until those endpoints are merged, the simulator's HTTP driver and the API tests
record what that pipeline *would* conclude about each frame (match, spoof, no face, ...) with
this module, so that everything downstream (the rules, the stored verdict, the endpoints) runs
for real. Replace calls to :func:`record_face_outcomes` with real uploads once they exist; the
outcome rule below mirrors the engine driver's (`simulation.engine_driver.EngineGateway`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from proctor.domain.errors import Conflict, NotFound
from proctor.domain.policy import Policy
from proctor.storage.db import UnitOfWork
from proctor.storage.tables import Challenge, Photo, StudySession

FRAME_SPACING_S = 2.0  # frames of one answer, taken this far apart (the last one at ``at``)


def challenge_passes(outcomes: Sequence[str], policy: Policy) -> bool:
    """A photo/liveness challenge passes when a `match` comes within the retry allowance and no
    frame is fatal (e.g. a spoof)."""
    allowed = list(outcomes)[: policy.photo_retry_allowance + 1]
    return "match" in allowed and not set(outcomes) & set(policy.fatal_photo_outcomes)


def record_face_outcomes(uow: UnitOfWork, *, challenge_id: str,
                         frames: Sequence[tuple[str, float | None]], at: datetime,
                         policy: Policy) -> str:
    """Store one answer's frames with the outcomes the face pipeline would give them
    (``(outcome, distance)`` each) and settle the challenge; returns its outcome."""
    s = uow.session
    challenge = s.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound(f"unknown challenge {challenge_id!r}", field="challenge_id")
    if challenge.kind not in ("photo", "liveness"):
        raise Conflict("only photo and liveness challenges take frames", field="challenge_id")
    if challenge.outcome != "pending":
        raise Conflict(f"challenge was already answered ({challenge.outcome})",
                       field="challenge_id")
    study = s.get(StudySession, challenge.session_id)
    assert study is not None
    for i, (outcome, distance) in enumerate(frames):
        photo_id = str(uuid.uuid4())
        s.add(Photo(
            id=photo_id, session_id=study.id, challenge_id=challenge_id,
            learner_id=study.learner_id, institution_id=study.institution_id, frame_index=i,
            taken_at=at - timedelta(seconds=(len(frames) - 1 - i) * FRAME_SPACING_S),
            blob_key=None, sha256=hashlib.sha256(f"stand-in {photo_id}".encode()).hexdigest(),
            content_type="image/jpeg", outcome=outcome, distance=distance,
            reasons=["face pipeline stand-in"], processed_at=at))
    challenge.answered_at = challenge.received_at = at
    if at > challenge.expires_at:
        challenge.outcome = "expired"
    else:
        passed = challenge_passes([o for o, _ in frames], policy)
        challenge.outcome = "passed" if passed else "failed"
    s.flush()
    return challenge.outcome
