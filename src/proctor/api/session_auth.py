"""The browser's way in: `Authorization: Bearer <session token>` on one session's own routes.

Routes a learner's browser may call take a *session caller*: either the platform, signed as
always (api/auth.py), or a session token (services/session_tokens.py) from a page served from
one of the institution's `allowed_origins`. A token caller is a :class:`Platform` whose
``session_id`` is set; routes then refuse any other session with 403 (`require_session`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from proctor.api.auth import Platform
from proctor.api.deps import BodyDep, UowDep, authenticate_request_sync
from proctor.api.uploads import UploadBodyDep
from proctor.domain.errors import Forbidden, Unauthorized
from proctor.services import session_tokens
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import evidence as ev_repo
from proctor.storage.tables import Institution


def bearer_token(request: Request) -> str | None:
    """The bearer token, None without an Authorization header, 401 when it is not a bearer."""
    auth = request.headers.get("authorization")
    if auth is None:
        return None
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization must be `Bearer <session token>`")
    return token.strip()


def own_origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def check_origin(uow: UnitOfWork, request: Request, institution_id: int) -> None:
    """A page of another origin may use a token only when the institution registered it."""
    origin = request.headers.get("origin")
    if origin is None or origin == own_origin(request):
        return
    inst = uow.session.get(Institution, institution_id)
    if inst is None or origin not in (inst.allowed_origins or []):
        raise Forbidden(f"origin {origin!r} is not one of the institution's allowed_origins "
                        "(PUT /v1/institution)", code="origin_not_allowed")


def token_caller(request: Request, uow: UnitOfWork, token: str, *, writes: bool) -> Platform:
    now = request.app.state.clock()
    grant = session_tokens.verify(uow, token, now=now)
    if writes and not grant.session_open:
        raise Unauthorized("the session has ended: its tokens are revoked", code="token_revoked")
    check_origin(uow, request, grant.institution_id)
    return Platform(key_id=grant.key_id, institution_id=grant.institution_id,
                    session_id=grant.session_id)


def session_caller(request: Request, uow: UnitOfWork, body: bytes, *, writes: bool) -> Platform:
    """The caller of a session's route: a session token (``writes``: only while the session is
    open), else a signed platform. Blocking (it reads the database): called in a worker
    thread, all of it in one trip (each trip cost about as much as a short query)."""
    token = bearer_token(request)
    if token is None:
        return authenticate_request_sync(request, uow, body)
    return token_caller(request, uow, token, writes=writes)


async def get_session_caller(request: Request, uow: UowDep, body: BodyDep) -> Platform:
    return await run_in_threadpool(session_caller, request, uow, body, writes=True)


async def get_session_reader(request: Request, uow: UowDep, body: BodyDep) -> Platform:
    """Reads (the verdict, the session): a token still reads its own session after the session
    ended, until the token expires; it can no longer write or be renewed."""
    return await run_in_threadpool(session_caller, request, uow, body, writes=False)


async def get_upload_session_caller(request: Request, uow: UowDep, body: UploadBodyDep) -> Platform:
    return await run_in_threadpool(session_caller, request, uow, body, writes=True)


SessionCallerDep = Annotated[Platform, Depends(get_session_caller)]
SessionReaderDep = Annotated[Platform, Depends(get_session_reader)]
UploadSessionCallerDep = Annotated[Platform, Depends(get_upload_session_caller)]


def require_session(caller: Platform, session_id: str) -> None:
    """403 when a token caller reaches for a session other than its own."""
    if caller.session_id is not None and caller.session_id != session_id:
        raise Forbidden("this session token belongs to another session and cannot reach "
                        f"session {session_id!r}", code="token_scope")


def require_challenge(uow: UnitOfWork, caller: Platform, challenge_id: str) -> None:
    """403 when a token caller reaches for a challenge of another session (404 stays the
    route's answer for an unknown challenge)."""
    if caller.session_id is None:
        return
    c = ev_repo.challenge_of(uow.session, caller.institution_id, challenge_id)
    if c is not None and c.session_id != caller.session_id:
        raise Forbidden("this session token belongs to another session and cannot reach "
                        f"challenge {challenge_id!r}", code="token_scope")


def require_own_events(caller: Platform, body: object) -> None:
    """403, nothing stored, when a token caller's batch holds an event of another session."""
    if caller.session_id is None or not isinstance(body, dict):
        return
    events = body.get("events")
    require_own_sessions(caller, [e.get("session_id") if isinstance(e, dict) else None
                                  for e in (events if isinstance(events, list) else [])])


def require_own_sessions(caller: Platform, session_ids: list[object]) -> None:
    """``require_own_events`` over the batch's session ids, in the batch's order."""
    if caller.session_id is None:
        return
    for i, sid in enumerate(session_ids):
        if sid != caller.session_id:
            raise Forbidden(f"events[{i}]: this session token may only send events of its own "
                            f"session (got session_id {sid!r})", field=f"events[{i}].session_id",
                            code="token_scope")
