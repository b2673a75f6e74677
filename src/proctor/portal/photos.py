"""Serving kept snapshots to portal users whose scope holds them.

The scope check happens here, before any bytes are read. The bytes come from the blob store
named by the settings (the vision layer's own `photo_bytes` service can replace this once it is
on main; the scope check stays).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import Response

from proctor.domain.errors import NotFound
from proctor.services.evidence_store import blob_store
from proctor.storage import blobs
from proctor.storage.repositories import portal as repo

if TYPE_CHECKING:
    from proctor.portal.pages import Viewer

GONE = "照片不存在、已过保存期限或不在您的管辖范围内。"


def photo_response(v: Viewer, photo_id: str, *, thumb: bool) -> Response:
    photo = repo.photo(v.uow.session, v.scope.covers, photo_id)
    if photo is None:
        raise NotFound(GONE)
    key = (photo.thumb_key or photo.blob_key) if thumb else photo.blob_key
    if key is None:
        raise NotFound(GONE)  # deleted by the retention job
    store = blob_store(v.settings)
    try:
        data = store.get(key)
    except (blobs.BlobNotFound, KeyError, FileNotFoundError):
        raise NotFound(GONE) from None
    if thumb and not photo.thumb_key:
        data, media = blobs.thumbnail(data), "image/jpeg"
    else:
        media = "image/jpeg" if thumb else photo.content_type
    # Evidence about a person: never cached by shared caches, kept briefly by the browser.
    return Response(data, media_type=media, headers={"Cache-Control": "private, max-age=300"})
