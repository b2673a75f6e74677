"""Bounded input before anything else runs: a streaming body limit, and JSON that can be stored.

``BodyLimitMiddleware`` (pure ASGI) refuses a request whose declared ``Content-Length`` is over
its route's limit without reading a byte, and counts the bytes of any other body (chunked, no
``Content-Length``) as they arrive, refusing with 413 the moment the count passes the limit:
nothing, signed or not, is ever buffered past it.

``parse_json`` accepts only what RFC 8259 calls JSON (no NaN / Infinity), nested at most
``MAX_JSON_DEPTH`` deep, and (unless told otherwise) text that PostgreSQL can store: no NUL
characters, no lone surrogates.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from proctor.domain.errors import MalformedRequest, PayloadTooLarge

MAX_JSON_DEPTH = 32


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, f"body is {declared} bytes, at most {limit} are allowed")
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(
                        f"body is more than {limit} bytes, at most {limit} are allowed")
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except PayloadTooLarge as exc:  # raised where no handler caught it (e.g. the portal)
            if started:
                raise
            await _refuse(send, exc.message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"error": {"code": "too_large", "message": message}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _no_constants(name: str) -> Any:
    raise MalformedRequest(f"body is not valid JSON: {name} is not a JSON number")


def parse_json(body: bytes, *, check_text: bool = True, per_item: bool = False) -> Any:
    """The JSON value of ``body``; 400 when it is not JSON, too deep, or holds unstorable text.

    ``per_item``: the caller validates each item of a batch itself (events: one bad event is
    rejected alone, the rest stored), so NaN / Infinity, text and depth are left to it; only
    what can't be parsed at all (or nests past the parser's own limit) refuses the body."""
    try:
        value = json.loads(body) if per_item else json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise MalformedRequest(f"JSON nested more than {MAX_JSON_DEPTH} deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}") from None
    if not per_item:
        check_value(value, check_text=check_text)
    return value


def check_value(value: Any, *, check_text: bool = True) -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and (``check_text``) NUL or lone surrogates."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > MAX_JSON_DEPTH:
                raise MalformedRequest(f"JSON nested more than {MAX_JSON_DEPTH} deep")
            for k, v in item.items():
                if check_text:
                    _check_text(k)
                stack.append((v, depth + 1))
        elif isinstance(item, list):
            if depth > MAX_JSON_DEPTH:
                raise MalformedRequest(f"JSON nested more than {MAX_JSON_DEPTH} deep")
            stack.extend((v, depth + 1) for v in item)
        elif check_text and isinstance(item, str):
            _check_text(item)


def _check_text(s: str) -> None:
    if "\x00" in s:
        raise MalformedRequest("text may not contain NUL (\\u0000) characters")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedRequest("text may not contain lone surrogates (invalid UTF-16)") from None
