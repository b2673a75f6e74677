"""Typed dependencies: the unit of work (one per request, committed in one place), the platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from proctor.api import limits
from proctor.api.auth import Platform, authenticate
from proctor.config import Settings
from proctor.domain.errors import PayloadTooLarge
from proctor.storage.db import UnitOfWork, request_unit_of_work


# Plain lookups, declared async so that FastAPI calls them on the event loop: a sync dependency
# is a trip to a worker thread and back, which cost about as much as a short query
# (docs/scaling.md). Neither may block.
async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


async def get_now(request: Request) -> datetime:
    """The server's clock (app.state.clock): tests and the simulator may run it in simulated time."""
    return request.app.state.clock()


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """Commit once after the route returns; roll back (and undo side effects) on any error."""
    async with request_unit_of_work(request.app.state.session_factory) as uow:
        yield uow


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body (what the signature covers), refused whole when over ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes, at most {limit} are allowed")
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"body is {len(body)} bytes, at most {limit} are allowed")
    return body


async def read_body(request: Request) -> bytes:
    return await read_limited(request, request.app.state.settings.max_body_bytes)


# scope="function": the commit happens before the response is sent, never after.
UowDep = Annotated[UnitOfWork, Depends(get_uow, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
BodyDep = Annotated[bytes, Depends(read_body)]
NowDep = Annotated[datetime, Depends(get_now)]


def authenticate_request_sync(request: Request, uow: UnitOfWork, body: bytes) -> Platform:
    """The signed platform of this request, or 401 (blocking: it reads the database)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    return authenticate(uow, request.app.state.replay_guard, headers=headers, body=body)


async def authenticate_request(request: Request, uow: UnitOfWork, body: bytes) -> Platform:
    return await run_in_threadpool(authenticate_request_sync, request, uow, body)


async def get_platform(request: Request, uow: UowDep, body: BodyDep) -> Platform:
    return await authenticate_request(request, uow, body)


PlatformDep = Annotated[Platform, Depends(get_platform)]


def parse_json(body: bytes, *, check_text: bool = True, per_item: bool = False) -> Any:
    """JSON as RFC 8259 defines it, bounded in depth, with storable text (api.limits)."""
    return limits.parse_json(body, check_text=check_text, per_item=per_item)
