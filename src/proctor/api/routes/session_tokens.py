"""Session tokens for the learner's browser (CONTRACT §6, docs/sdk.md).

The platform's backend (signed) asks for a token for one of its open sessions; the browser
renews its own token (bearer) before it runs out, while the session is open.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Request

from proctor.api.deps import NowDep, SettingsDep, UowDep
from proctor.api.session_auth import SessionCallerDep, require_session
from proctor.domain.errors import NotFound
from proctor.schemas.session_tokens import SessionTokenOut
from proctor.services import session_tokens
from proctor.storage.repositories import study as study_repo

router = APIRouter(prefix="/v1", tags=["browser"])


@router.post("/sessions/{session_id}/token", response_model=SessionTokenOut,
             responses={409: {"description": "the session has ended"}})
def post_session_token(request: Request, session_id: str, caller: SessionCallerDep, uow: UowDep,
                       settings: SettingsDep, now: NowDep) -> SessionTokenOut:
    """A short-lived token that lets the learner's browser call this session's own routes
    (signed by the platform; or renewed with a still-valid token of the same session)."""
    require_session(caller, session_id)
    study = study_repo.session_of(uow.session, caller.institution_id, session_id)
    if study is None:
        raise NotFound(f"unknown session {session_id!r}", field="session_id")
    t = session_tokens.mint(uow, key_id=caller.key_id, study=study, now=now,
                            ttl_s=settings.session_token_ttl_s)
    return SessionTokenOut(session_id=study.id, token=t.token, expires_at=t.expires_at,
                           # exp is whole seconds (JWT NumericDate): the token lives until then, so round up
                           expires_in=max(0, math.ceil((t.expires_at - now).total_seconds())))
