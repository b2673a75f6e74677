"""A small Python client for course platforms: signs every request the Standard Webhooks way.

    from proctor.client import ProctorClient
    client = ProctorClient("http://127.0.0.1:8000", key_id="pk_…", secret="whsec_…")
    client.post("/v1/events", {"events": [...]})
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from proctor.signing import BytesWebhook


def sign_headers(key_id: str, secret: str, body: bytes, *, msg_id: str | None = None,
                 timestamp: datetime | None = None) -> dict[str, str]:
    """The four headers CONTRACT §1 asks for, over the exact bytes that will be sent."""
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or datetime.now(UTC)
    signature = BytesWebhook(secret).sign(msg_id, timestamp, body)  # any bytes: photos too
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature,
        "X-Proctor-Key": key_id,
        "Content-Type": "application/json",
    }


class ProctorClient:
    """Signed JSON requests. ``http`` may be any httpx-compatible client (e.g. a TestClient)."""

    def __init__(self, base_url: str = "", *, key_id: str, secret: str,
                 http: Any | None = None) -> None:
        self.key_id, self.secret = key_id, secret
        self.http = http if http is not None else httpx.Client(base_url=base_url, timeout=30)

    def request(self, method: str, path: str, payload: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
        body = raw if raw is not None else (b"" if payload is None else
                                            json.dumps(payload, ensure_ascii=False).encode())
        signed = sign_headers(self.key_id, self.secret, body)
        signed.update(headers or {})
        return self.http.request(method, path, content=body, headers=signed)

    def upload(self, path: str, images: list[tuple[str, bytes]], *,
               field: str = "image", fields: dict[str, str] | None = None) -> httpx.Response:
        """POST multipart/form-data, one ``field`` part per (file name, bytes) plus the text
        parts ``fields`` (e.g. ``reviewed_by``), signed over the exact multipart bytes sent
        (the photo endpoints)."""
        files = [(field, (name, data, _image_type(data))) for name, data in images]
        encoded = httpx.Request("POST", "http://upload.invalid/", files=files,
                                data=fields or None)
        body = encoded.read()
        return self.request("POST", path, raw=body,
                            headers={"Content-Type": encoded.headers["Content-Type"]})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, payload: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, payload, **kw)

    def put(self, path: str, payload: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, payload, **kw)


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    return "image/jpeg" if data.startswith(b"\xff\xd8") else "application/octet-stream"
