"""Serving kept snapshots to portal users whose scope holds them.

The scope check happens here, before any bytes are read; the bytes come from
`proctor.services.photos.photo_bytes` (the blob store the settings name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi.responses import Response

from proctor.domain.errors import NotFound
from proctor.services.photos import photo_bytes
from proctor.storage.blobs import BlobNotFound, blob_store_from_settings
from proctor.storage.repositories import portal as repo

if TYPE_CHECKING:
    from proctor.portal.pages import Viewer

GONE = "照片不存在、已过保存期限或不在您的管辖范围内。"


def photo_response(v: Viewer, photo_id: str, *, thumb: bool) -> Response:
    if repo.photo(v.uow.session, v.scope.covers, photo_id) is None:  # scope first, then bytes
        raise NotFound(GONE)
    try:
        found = photo_bytes(v.uow, photo_id, thumb=thumb, store=blob_store_from_settings(v.settings))
    except NotFound:
        raise NotFound(GONE) from None  # purged or missing: the same answer as out of scope
    # Evidence about a person: never cached by shared caches, kept briefly by the browser.
    return Response(found.data, media_type=found.content_type,
                    headers={"Cache-Control": "private, max-age=300"})


def enrolment_photo_response(v: Viewer, learner_id: int) -> Response:
    """The learner's enrolment photo, for users whose scope holds the learner."""
    if repo.learner(v.uow.session, v.scope.covers, learner_id) is None:
        raise NotFound(GONE)
    key = repo.enrolment_blob(v.uow.session, learner_id)
    if key is None:
        raise NotFound(GONE)
    try:
        data = blob_store_from_settings(v.settings).get(key)
    except BlobNotFound:
        raise NotFound(GONE) from None
    return Response(data, media_type="image/png" if key.endswith(".png") else "image/jpeg",
                    headers={"Cache-Control": "private, max-age=300"})
