"""Signed multipart uploads: the body is read whole, verified, then parsed from those bytes.

The signature covers the raw multipart bytes, so the parts are taken from exactly the bytes
that were verified (python-multipart's parser fed from memory), never re-read from the wire.
Photo bodies are larger than the JSON limit: up to LIVENESS_FRAMES[1] images of 2 MiB each.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from proctor.api.auth import Platform
from proctor.api.deps import UowDep, authenticate_request, read_limited
from proctor.domain.errors import InvalidInput, MalformedRequest
from proctor.services.challenges import LIVENESS_FRAMES
from proctor.vision.decode import MAX_UPLOAD_BYTES

# the largest liveness burst, plus room for the part headers and boundaries
MAX_UPLOAD_BODY = LIVENESS_FRAMES[1] * MAX_UPLOAD_BYTES + 64 * 1024
MAX_PARTS = 2 * LIVENESS_FRAMES[1]


async def read_upload_body(request: Request) -> bytes:
    return await read_limited(request, MAX_UPLOAD_BODY)


UploadBodyDep = Annotated[bytes, Depends(read_upload_body)]


async def get_upload_platform(request: Request, uow: UowDep, body: UploadBodyDep) -> Platform:
    return await authenticate_request(request, uow, body)


UploadPlatformDep = Annotated[Platform, Depends(get_upload_platform)]


def _named_parts(body: bytes, content_type: str | None, field: str) -> list[tuple[str, bytes]]:
    """(name, contents) of every part of a multipart/form-data body, in order; 400 when the
    body is not well-formed multipart (``field`` names the part the caller expects)."""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise MalformedRequest(
            f"send multipart/form-data with one or more `{field}` parts (Content-Type was "
            f"{content_type!r})")
    parts: list[tuple[dict[str, str], bytearray]] = []
    header: list[bytes] = [b"", b""]
    ended: list[bool] = []

    def begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise MalformedRequest(f"at most {MAX_PARTS} parts are accepted")
        parts.append(({}, bytearray()))

    def header_field(data: bytes, start: int, end: int) -> None:
        header[0] += data[start:end]

    def header_value(data: bytes, start: int, end: int) -> None:
        header[1] += data[start:end]

    def header_end() -> None:
        parts[-1][0][header[0].decode("latin-1").lower()] = header[1].decode("latin-1")
        header[0] = header[1] = b""

    def part_data(data: bytes, start: int, end: int) -> None:
        parts[-1][1].extend(data[start:end])

    parser = MultipartParser(boundary, {
        "on_part_begin": begin, "on_header_field": header_field, "on_header_value": header_value,
        "on_header_end": header_end, "on_part_data": part_data,
        "on_end": lambda: ended.append(True)})
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise MalformedRequest(f"the multipart body cannot be parsed ({exc})") from None
    if not ended:
        raise MalformedRequest("the multipart body is truncated (no closing boundary)")
    out = []
    for headers, data in parts:
        _, disposition = parse_options_header(headers.get("content-disposition", ""))
        out.append((disposition.get(b"name", b"").decode("latin-1"), bytes(data)))
    return out


def image_parts(body: bytes, content_type: str | None, *, field: str = "image") -> list[bytes]:
    """The contents of every ``field`` part of a multipart/form-data body, in order.

    Other fields are ignored. 400 when the body is not well-formed multipart; 422 when it holds
    no ``field`` part.
    """
    images = [data for name, data in _named_parts(body, content_type, field) if name == field]
    if not images:
        raise InvalidInput(f"no `{field}` part in the multipart body", field=field,
                           code="missing")
    return images


def text_part(body: bytes, content_type: str | None, field: str) -> str | None:
    """The one text part ``field`` of a multipart/form-data body (UTF-8), or None."""
    values = [data for name, data in _named_parts(body, content_type, "image") if name == field]
    if len(values) > 1:
        raise InvalidInput(f"send at most one `{field}` part", field=field)
    if not values:
        return None
    try:
        return values[0].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"`{field}` must be UTF-8 text", field=field) from None
