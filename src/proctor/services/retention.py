"""Use case: delete photo files older than the retention period; their records stay.

A purged Photo keeps its outcome, distance, reasons, sha256 and perceptual hash (what the
verdicts and replay checks need), and loses ``blob_key`` / ``thumb_key``. Blobs are content-
addressed, so a file is deleted only when no row kept beyond the cutoff still points at it
(a recent replay of an old photo, an enrolment photo).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from proctor.storage.blobs import BlobStore
from proctor.storage.db import UnitOfWork
from proctor.storage.repositories import faces as face_repo


@dataclass(frozen=True)
class PurgeReport:
    cutoff: datetime
    photos: int  # photo rows whose files were released
    blobs_deleted: int


def purge_photos(uow: UnitOfWork, *, store: BlobStore, now: datetime, retention_days: int,
                 batch: int = 1000) -> PurgeReport:
    cutoff = now - timedelta(days=retention_days)
    photos, doomed = 0, set()
    while rows := face_repo.photos_older_than(uow.session, cutoff, limit=batch):
        keys = {k for p in rows for k in (p.blob_key, p.thumb_key) if k}
        doomed |= keys - face_repo.keys_still_referenced(uow.session, keys, cutoff=cutoff)
        for p in rows:
            p.blob_key = p.thumb_key = None
        uow.session.flush()
        photos += len(rows)
    # files go only once the rows no longer point at them: a failed commit leaves at worst an
    # orphan file, never a record pointing at nothing
    def delete_files() -> None:
        for key in sorted(doomed):
            store.delete(key)

    uow.after_commit(delete_files)
    return PurgeReport(cutoff, photos, len(doomed))
