"""The evidence blob store: local directory for real, S3 against a real HTTP S3 (moto server)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from proctor.bench._faces_data import faces_dir
from proctor.storage.blobs import (
    BlobNotFound,
    LocalBlobStore,
    S3BlobStore,
    delete_older_than,
    thumbnail,
)


@pytest.fixture(scope="module")
def photo() -> bytes:
    return (faces_dir() / "ageitgey/examples/obama-480p.jpg").read_bytes()


@pytest.fixture(scope="module")
def s3_endpoint():
    moto_server = pytest.importorskip("moto.server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_endpoint):
    import boto3

    bucket = f"evidence-{uuid.uuid4().hex[:12]}"
    creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", **creds).create_bucket(
        Bucket=bucket
    )
    return S3BlobStore(
        bucket,
        endpoint_url=s3_endpoint,
        access_key="test",
        secret_key="test",
        region="us-east-1",
        prefix="photos",
    )


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    return request.getfixturevalue("s3_store")


def test_put_get_delete_round_trip(store, photo):
    stored = store.put(photo)
    assert stored.sha256 == hashlib.sha256(photo).hexdigest()
    assert stored.key.endswith(stored.sha256 + ".jpg")
    assert stored.size == len(photo)
    assert store.get(stored.key) == photo
    store.delete(stored.key)
    with pytest.raises(BlobNotFound):
        store.get(stored.key)


def test_same_bytes_same_key(store, photo):
    assert store.put(photo).key == store.put(photo).key


def test_keys_cannot_escape_the_store(store):
    for bad in ("../../etc/passwd", "ab/../../x", "/etc/passwd", "ab/cd"):
        with pytest.raises(ValueError, match="not a blob key"):
            store.get(bad)


def test_retention_deletes_only_old_blobs(tmp_path, photo):
    store = LocalBlobStore(tmp_path)
    old = store.put(photo)
    young = store.put(photo[:-10] + b"\x00" * 10)
    ninety_days_ago = time.time() - 90 * 86400
    os.utime(tmp_path / old.key, (ninety_days_ago, ninety_days_ago))
    cutoff = datetime.now(UTC) - timedelta(days=30)
    assert delete_older_than(store, cutoff) == [old.key]
    assert store.get(young.key)
    with pytest.raises(BlobNotFound):
        store.get(old.key)


def test_retention_on_s3(s3_store, photo):
    stored = s3_store.put(photo)
    assert delete_older_than(s3_store, datetime.now(UTC) - timedelta(days=1)) == []
    assert delete_older_than(s3_store, datetime.now(UTC) + timedelta(minutes=1)) == [stored.key]
    with pytest.raises(BlobNotFound):
        s3_store.get(stored.key)


def test_thumbnail_is_a_small_upright_jpeg(photo):
    thumb = thumbnail(photo, max_side=200)
    img = Image.open(io.BytesIO(thumb))
    assert img.format == "JPEG"
    assert max(img.size) == 200
    assert img.size[0] > img.size[1]  # landscape stays landscape (853×480)
    assert len(thumb) < len(photo) / 3
