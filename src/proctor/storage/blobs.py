"""Evidence blob store: photos kept by their sha256, in a local directory or an S3 bucket.

Content-addressed: ``put`` returns the key and the sha256, so the database records what was
stored and anyone can check it later. Storing the same bytes again refreshes their age (a
re-sent photo must not be swept by the retention job while it is still referenced).
Retention: ``delete_older_than(cutoff)`` with the cutoff computed by the caller from settings
(this module reads no clock and no settings).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, ImageOps

if TYPE_CHECKING:
    from proctor.config import Settings

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


@dataclass(frozen=True)
class StoredBlob:
    key: str
    sha256: str
    size: int


class BlobNotFound(KeyError):
    pass


class BlobStore(Protocol):
    def put(self, data: bytes, content_type: str = "image/jpeg") -> StoredBlob: ...
    def get(self, key: str) -> bytes: ...
    def delete(self, key: str) -> None: ...
    def list_older_than(self, cutoff: datetime) -> Iterator[str]: ...


def blob_key(data: bytes, content_type: str) -> tuple[str, str]:
    """(key, sha256): ``ab/cd/<sha256>.jpg``, fanned out so no directory grows huge."""
    digest = hashlib.sha256(data).hexdigest()
    ext = _EXTENSIONS.get(content_type, ".bin")
    return f"{digest[:2]}/{digest[2:4]}/{digest}{ext}", digest


def _check_key(key: str) -> str:
    parts = key.split("/")
    if len(parts) != 3 or any(p in ("", ".", "..") for p in parts) or "\\" in key:
        raise ValueError(f"not a blob key: {key!r}")
    return key


def blob_store_from_settings(settings: Settings) -> BlobStore:
    """The store ``settings.blob_backend`` names: a local directory, or an S3 bucket."""
    if settings.blob_backend == "s3":
        if not settings.s3_bucket:
            raise ValueError("blob_backend = 's3' needs s3_bucket")
        return S3BlobStore(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            prefix=settings.s3_prefix,
        )
    return LocalBlobStore(settings.blob_dir)


def delete_older_than(store: BlobStore, cutoff: datetime) -> list[str]:
    """Delete every blob last stored before ``cutoff``; returns the deleted keys."""
    keys = list(store.list_older_than(cutoff))
    for key in keys:
        store.delete(key)
    return keys


def thumbnail(data: bytes, max_side: int = 240, quality: int = 80) -> bytes:
    """A small upright JPEG of a stored photo for the review portal."""
    with Image.open(io.BytesIO(data)) as img:
        upright = ImageOps.exif_transpose(img).convert("RGB")
        upright.thumbnail((max_side, max_side))
        out = io.BytesIO()
        upright.save(out, format="JPEG", quality=quality, optimize=True)
        return out.getvalue()


class LocalBlobStore:
    """Blobs as files under ``root`` (the default, for the embedded setup and tests)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / _check_key(key)

    def put(self, data: bytes, content_type: str = "image/jpeg") -> StoredBlob:
        key, digest = blob_key(data, content_type)
        path = self._path(key)
        if path.exists():
            os.utime(path)  # same bytes again: they are young again
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: a reader never sees half a photo
        return StoredBlob(key, digest, len(data))

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list_older_than(self, cutoff: datetime) -> Iterator[str]:
        limit = cutoff.timestamp()
        for path in self.root.glob("*/*/*"):
            if path.suffix != ".tmp" and path.stat().st_mtime < limit:
                yield path.relative_to(self.root).as_posix()


class S3BlobStore:
    """Blobs in an S3-compatible bucket (AWS, MinIO, Ceph…), through boto3."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str | None = None,
        prefix: str = "",
        client: Any = None,
    ) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._s3 = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
        )

    def put(self, data: bytes, content_type: str = "image/jpeg") -> StoredBlob:
        key, digest = blob_key(data, content_type)
        # a re-put rewrites the object, which refreshes LastModified for the retention sweep
        self._s3.put_object(
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ContentType=content_type,
            Metadata={"sha256": digest},
        )
        return StoredBlob(key, digest, len(data))

    def get(self, key: str) -> bytes:
        try:
            obj = self._s3.get_object(Bucket=self.bucket, Key=self.prefix + _check_key(key))
        except self._s3.exceptions.NoSuchKey as exc:
            raise BlobNotFound(key) from exc
        return obj["Body"].read()

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=self.prefix + _check_key(key))

    def list_older_than(self, cutoff: datetime) -> Iterator[str]:
        if cutoff.tzinfo is None:
            cutoff = cutoff.replace(tzinfo=UTC)
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for obj in page.get("Contents", []):
                if obj["LastModified"] < cutoff:
                    yield obj["Key"][len(self.prefix) :]
