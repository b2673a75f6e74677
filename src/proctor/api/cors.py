"""CORS for the browser endpoints, only for origins an institution registered (docs/sdk.md).

A preflight carries no token, so it is answered for any origin some institution registered
(`PUT /v1/institution` {allowed_origins}) and only on the routes a session token may call. The
real request is then held to the token's own institution (api/session_auth.check_origin: 403
otherwise). Other routes (registration, sessions, keys) never answer a browser.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proctor.storage.tables import Institution

BROWSER_PATHS = re.compile(
    r"^/v1/(events|sessions/[^/]+(/challenge|/verdict|/token)?|challenges/[^/]+(/answer|/photo)?)$")
ALLOW_METHODS = "GET, POST"
ALLOW_HEADERS = "authorization, content-type"
MAX_AGE_S = 600


class BrowserOrigins:
    """Every registered origin, re-read at most every ``ttl_s`` (and at once after a change
    committed in this process)."""

    def __init__(self, session_factory: Callable[[], Session], ttl_s: float = 30.0) -> None:
        self._factory = session_factory
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._origins: frozenset[str] = frozenset()
        self._read_at = float("-inf")

    def forget(self) -> None:
        with self._lock:
            self._read_at = float("-inf")

    def registered(self, origin: str) -> bool:
        with self._lock:
            if time.monotonic() - self._read_at > self._ttl_s:
                with self._factory() as s:
                    rows = s.scalars(select(Institution.allowed_origins)).all()
                self._origins = frozenset(o for row in rows for o in (row or []))
                self._read_at = time.monotonic()
            return origin in self._origins


class BrowserCORS:
    """ASGI middleware: preflights and response headers for registered origins."""

    def __init__(self, app: ASGIApp, origins: BrowserOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not BROWSER_PATHS.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = await run_in_threadpool(self.origins.registered, origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(send, origin, allowed)
            return
        if not allowed:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(b"access-control-allow-origin", origin.encode("latin-1")),
                         (b"vary", b"Origin")]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(send: Send, origin: str, allowed: bool) -> None:
        if allowed:
            status, body = 204, b""
            hdrs = [(b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                    (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", str(MAX_AGE_S).encode()), (b"vary", b"Origin")]
        else:
            status = 403
            body = json.dumps({"error": {
                "code": "origin_not_allowed",
                "message": f"origin {origin!r} is not registered by any institution "
                           "(PUT /v1/institution allowed_origins)"}}).encode()
            hdrs = [(b"content-type", b"application/json"), (b"vary", b"Origin")]
        hdrs.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        await send({"type": "http.response.body", "body": body})


def install(app: object) -> None:
    """Add the middleware and its origin cache (app.state.browser_origins) to a FastAPI app."""
    from fastapi import FastAPI

    assert isinstance(app, FastAPI)
    app.state.browser_origins = BrowserOrigins(app.state.session_factory)
    app.add_middleware(BrowserCORS, origins=app.state.browser_origins)
