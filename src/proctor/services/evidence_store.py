"""The evidence blob store the settings name (local directory or S3)."""

from __future__ import annotations

from proctor.config import Settings
from proctor.storage import blobs


def blob_store(settings: Settings) -> blobs.BlobStore:
    if settings.blob_backend == "s3" and settings.s3_bucket:
        return blobs.S3BlobStore(settings.s3_bucket, endpoint_url=settings.s3_endpoint_url,
                                 access_key=settings.s3_access_key,
                                 secret_key=settings.s3_secret_key, region=settings.s3_region,
                                 prefix=settings.s3_prefix)
    return blobs.LocalBlobStore(settings.blob_dir)
