"""The blob store the settings name."""

from __future__ import annotations

from pathlib import Path

import pytest

from proctor.config import Settings
from proctor.storage.blobs import LocalBlobStore, S3BlobStore, blob_store_from_settings


def test_local_store_lives_in_blob_dir(tmp_path: Path) -> None:
    store = blob_store_from_settings(Settings(blob_dir=tmp_path / "b"))
    assert isinstance(store, LocalBlobStore)
    stored = store.put(b"\xff\xd8\xff photo")
    assert (tmp_path / "b" / stored.key).read_bytes() == b"\xff\xd8\xff photo"


def test_s3_store_takes_bucket_prefix_and_endpoint() -> None:
    store = blob_store_from_settings(Settings(
        blob_backend="s3", s3_bucket="evidence", s3_prefix="/county-410105/",
        s3_endpoint_url="http://127.0.0.1:9", s3_access_key="k", s3_secret_key="s",
        s3_region="cn-north-1"))
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("evidence", "county-410105/")
    assert store._s3.meta.endpoint_url == "http://127.0.0.1:9"


def test_s3_without_a_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="s3_bucket"):
        blob_store_from_settings(Settings(blob_backend="s3"))
