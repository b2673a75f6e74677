"""Challenges (弹窗): the service decides when; the platform fetches and answers (CONTRACT §3)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from proctor.api.deps import BodyDep, NowDep, SettingsDep, UowDep
from proctor.api.openapi import json_body
from proctor.api.routes._util import parse_model
from proctor.api.session_auth import SessionCallerDep, require_challenge, require_session
from proctor.schemas.verdicts import AnswerIn, AnswerOut, ChallengeOut
from proctor.services import challenges
from proctor.services.policies import policy_for
from proctor.storage.tables import Challenge

router = APIRouter(prefix="/v1", tags=["challenges"])


def challenge_out(c: Challenge) -> ChallengeOut:
    is_photo = c.kind in ("photo", "liveness")
    return ChallengeOut(
        challenge_id=c.id, kind=c.kind, prompt=c.prompt, issued_at=c.issued_at,
        code=c.expected_answer if c.kind == "confirm" else None,
        expires_at=c.expires_at, action=c.action,
        frames=list(challenges.LIVENESS_FRAMES) if c.kind == "liveness" else None,
        frame_interval_ms=challenges.LIVENESS_FRAME_INTERVAL_MS if c.kind == "liveness" else None,
        answer_url=f"/v1/challenges/{c.id}/{'photo' if is_photo else 'answer'}")


@router.get("/sessions/{session_id}/challenge", response_model=ChallengeOut,
            responses={204: {"description": "no challenge is due now"}})
def get_challenge(session_id: str, platform: SessionCallerDep, uow: UowDep, settings: SettingsDep,
                  now: NowDep) -> ChallengeOut | Response:
    """The challenge due now (the same one until answered or expired), or 204 when none is."""
    require_session(platform, session_id)
    found = challenges.current_challenge(uow, institution_id=platform.institution_id,
                                         session_id=session_id, policy=policy_for(settings),
                                         now=now)
    return Response(status_code=204) if found is None else challenge_out(found)


@router.post("/challenges/{challenge_id}/answer", response_model=AnswerOut,
             openapi_extra=json_body(AnswerIn))
def post_answer(challenge_id: str, body: BodyDep, platform: SessionCallerDep, uow: UowDep,
                settings: SettingsDep, now: NowDep) -> AnswerOut:
    """Answer a `confirm` challenge with the code it showed."""
    require_challenge(uow, platform, challenge_id)
    data = parse_model(body, AnswerIn)
    c = challenges.answer_confirm(uow, institution_id=platform.institution_id,
                                  challenge_id=challenge_id, answer=data.answer,
                                  answered_at=data.answered_at, now=now)
    return AnswerOut(challenge_id=c.id, outcome=c.outcome)
