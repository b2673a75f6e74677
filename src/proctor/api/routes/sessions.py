"""Study sessions and their telemetry (CONTRACT §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from proctor.api.deps import BodyDep, NowDep, PlatformDep, SettingsDep, UowDep, parse_json
from proctor.api.openapi import json_body
from proctor.api.routes._util import parse_model
from proctor.api.session_auth import (
    SessionReaderDep,
    require_own_events,
    require_own_sessions,
    require_session,
    session_caller,
)
from proctor.config import Settings
from proctor.domain.errors import NotFound
from proctor.schemas.telemetry import EventBatchIn, IngestOut, SessionIn, SessionOut
from proctor.services import session_tokens, study_sessions
from proctor.services.ingest import decode_batch, ingest_events
from proctor.storage.db import UnitOfWork, finish_in_route
from proctor.storage.repositories import study as study_repo
from proctor.storage.tables import Course, Learner, Lesson, StudySession

router = APIRouter(prefix="/v1", tags=["sessions"])


def session_out(request: Request, study: StudySession, learner: Learner, course: Course,
                lesson: Lesson) -> SessionOut:
    hook = getattr(request.app.state, "next_challenge_at", None)
    next_at = hook(study) if hook else (study.started_at if study.status == "open" else None)
    return SessionOut(session_id=study.id, learner_id=learner.ext_id, course_id=course.ext_id,
                      lesson_id=lesson.ext_id, status=study.status, started_at=study.started_at,
                      ended_at=study.ended_at, next_challenge_at=next_at,
                      challenge_url=f"/v1/sessions/{study.id}/challenge")


@router.post("/sessions", status_code=201, response_model=SessionOut,
             openapi_extra=json_body(SessionIn))
def post_session(request: Request, body: BodyDep, platform: PlatformDep, uow: UowDep,
                 settings: SettingsDep, now: NowDep) -> SessionOut:
    """Open a study session; the first challenge (a liveness check) is due at once. The answer
    carries a session token for the learner's browser (docs/sdk.md)."""
    data = parse_model(body, SessionIn)
    study, learner, course, lesson = study_sessions.open_session(
        uow, institution_id=platform.institution_id, data=data, now=now)
    for hook in getattr(request.app.state, "on_session_opened", []):
        hook(uow, study)
    out = session_out(request, study, learner, course, lesson)
    token = session_tokens.mint(uow, key_id=platform.key_id, study=study, now=now,
                                ttl_s=settings.session_token_ttl_s)
    out.session_token, out.session_token_expires_at = token.token, token.expires_at
    return out


@router.get("/sessions/{session_id}", response_model=SessionOut)
def get_session(request: Request, session_id: str, platform: SessionReaderDep,
                uow: UowDep) -> SessionOut:
    """One study session of this institution."""
    require_session(platform, session_id)
    study = study_repo.session_of(uow.session, platform.institution_id, session_id)
    if study is None:
        raise NotFound(f"unknown session {session_id!r}", field="session_id")
    s = uow.session
    learner, course = s.get(Learner, study.learner_id), s.get(Course, study.course_id)
    lesson = s.get(Lesson, study.lesson_id)
    assert learner is not None and course is not None and lesson is not None  # foreign keys
    return session_out(request, study, learner, course, lesson)


@router.get("/sessions/{session_id}/events")
def get_session_events(session_id: str, platform: PlatformDep, uow: UowDep) -> dict[str, Any]:
    """The session's stored events in seq order, each with the client's and the server's time."""
    if study_repo.session_of(uow.session, platform.institution_id, session_id) is None:
        raise NotFound(f"unknown session {session_id!r}", field="session_id")
    events = []
    for e in study_repo.events_of(uow.session, session_id):
        item: dict[str, Any] = {"id": study_repo.public_event_id(session_id, e.event_id),
                                "seq": e.seq, "type": e.type, "ts": e.client_ts.isoformat(),
                                "received_at": e.server_ts.isoformat()}
        for key, value in (("position", e.position), ("from", e.from_pos), ("to", e.to_pos),
                           ("rate", e.rate), ("visible", e.visible), ("focused", e.focused),
                           ("state", e.state)):
            if value is not None:
                item[key] = value
        if e.extra:
            item.update(e.extra)
        events.append(item)
    return {"session_id": session_id, "events": events}


@router.post("/events", response_model=IngestOut,
             responses={207: {"model": IngestOut, "description": "some events were rejected"},
                        422: {"model": IngestOut, "description": "every event was rejected"}},
             openapi_extra=json_body(EventBatchIn, "events are checked one by one: a bad one is "
                                     "rejected alone (207)"))
async def post_events(request: Request, body: BodyDep, uow: UowDep, settings: SettingsDep,
                      now: NowDep) -> Any:
    """Append a batch of up to 1000 events; each is accepted, a duplicate, or rejected with a reason."""
    # the caller's check, the batch and the commit in one trip to a worker thread (the route
    # most called, with small batches from browsers: each trip cost about a short query's time)
    return await run_in_threadpool(_ingest_batch, request, body, uow, settings, now)


def _ingest_batch(request: Request, body: bytes, uow: UnitOfWork, settings: Settings,
                  now: datetime) -> Response:
    platform = session_caller(request, uow, body, writes=True)
    # values are checked per event by ingest (one bad event is rejected alone, the rest stored);
    # a batch of plainly valid events is read straight from the bytes (ingest.decode_batch)
    decoded = decode_batch(body, max_events=settings.max_batch_events)
    if decoded is None:
        data = parse_json(body, per_item=True)
        require_own_events(platform, data)
    else:
        data = None
        require_own_sessions(platform, [ev[1] for ev in decoded])
    result = ingest_events(uow, institution_id=platform.institution_id, body=data,
                           received_at=now, max_events=settings.max_batch_events,
                           decoded=decoded)
    for hook in getattr(request.app.state, "on_sessions_to_evaluate", []):
        hook(uow, result.sessions_to_evaluate, now)
    finish_in_route(uow)  # committed before the answer is sent, as every route's
    if not result.rejected:  # IngestOut's fields, written straight (the usual answer)
        return Response(b'{"received":%d,"accepted":%d,"duplicates":%d,"rejected":[]}'
                        % (result.received, result.accepted, result.duplicates),
                        media_type="application/json")
    out = IngestOut(received=result.received, accepted=result.accepted,
                    duplicates=result.duplicates, rejected=result.rejected)
    status = 422 if result.accepted + result.duplicates == 0 else 207
    return JSONResponse(out.model_dump(), status_code=status)
