"""One suite for both object stores: the local directory and S3 over HTTP (moto's server)."""

from __future__ import annotations

import hashlib
import os
import time
import urllib.request
from datetime import timedelta
from urllib.parse import urlparse

import boto3
import pytest

from generation.sweep import sweep
from storage.errors import ConfigError
from storage.local_store import LocalStore
from storage.objects import StorageError, asset_key, merchant_prefix
from storage.s3_store import S3Store
from tests.helpers.proxy import DroppingProxy
from tests.helpers.services import TEST_BUCKET

DIGEST = "ab" * 32


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_endpoint):
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    return S3Store(TEST_BUCKET, endpoint_url=s3_endpoint, path_style=True)


def put(store, key: str, payload: bytes, tmp_path, **options):
    source = tmp_path / "payload.bin"
    source.write_bytes(payload)
    return store.put_file(key, source, "video/mp4", {"merchant": "m-1"}, **options)


def unique_prefix() -> str:
    return f"t{time.time_ns()}"


def test_put_then_read_back_the_same_bytes(store, tmp_path):
    payload = b"\x00\x01 an mp4, say " * 1000
    digest = hashlib.sha256(payload).hexdigest()
    key = asset_key("adreel", "m-1", digest, "9x16-preview", "mp4")
    store.check()
    stored = put(store, key, payload, tmp_path)
    assert (stored.sha256, stored.size_bytes) == (digest, len(payload))
    assert store.exists(key) and store.read(key) == payload
    target = tmp_path / "copy.mp4"
    store.download(key, target)
    assert target.read_bytes() == payload


def test_list_and_delete(store, tmp_path):
    prefix = merchant_prefix(unique_prefix(), "m-1")
    keys = [f"{prefix}assets/{DIGEST}/{n}.mp4" for n in ("a", "b")]
    for key in keys:
        put(store, key, b"x", tmp_path)
    assert sorted(o.key for o in store.list(prefix)) == keys
    store.delete(keys[0])
    assert [o.key for o in store.list(prefix)] == keys[1:]
    assert not store.exists(keys[0])


def test_url_serves_the_object(store, tmp_path):
    key = asset_key(unique_prefix(), "m-1", DIGEST, "1x1-final", "mp4")
    put(store, key, b"final bytes", tmp_path, download_name="SKU-1-1x1-final.mp4")
    link = store.url(key, 60, download_name="SKU-1-1x1-final.mp4")
    if urlparse(link).scheme == "file":
        with open(urlparse(link).path, "rb") as served:
            assert served.read() == b"final bytes"
    else:
        with urllib.request.urlopen(link) as response:
            assert response.read() == b"final bytes"
            assert "SKU-1-1x1-final.mp4" in response.headers["Content-Disposition"]


@pytest.mark.parametrize("hostile", ["../other", "/etc", "m\x00x", "a/b", "..", "m\n1", ""])
def test_hostile_ids_never_become_keys(hostile):
    with pytest.raises(StorageError, match="cannot be part of an object key"):
        asset_key("adreel", hostile, DIGEST, "9x16-final", "mp4")
    with pytest.raises(StorageError):
        asset_key("adreel", "m-1", DIGEST, hostile or "x/../y", "mp4")


def test_local_store_refuses_keys_that_escape_it(tmp_path):
    with pytest.raises(StorageError, match="escapes"):
        LocalStore(tmp_path / "objects").exists("../../etc/passwd")


def test_s3_upload_carries_type_metadata_disposition_tag_and_checksum(s3_endpoint, tmp_path):
    store = S3Store(TEST_BUCKET, endpoint_url=s3_endpoint, path_style=True)
    key = asset_key(unique_prefix(), "m-2", DIGEST, "9x16-preview", "jpg")
    (tmp_path / "poster.jpg").write_bytes(b"jpeg bytes")
    store.put_file(
        key,
        tmp_path / "poster.jpg",
        "image/jpeg",
        {"merchant": "m-2"},
        download_name="poster.jpg",
        expires=True,
    )
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    head = client.head_object(Bucket=TEST_BUCKET, Key=key, ChecksumMode="ENABLED")
    assert head["ContentType"] == "image/jpeg" and head["Metadata"] == {"merchant": "m-2"}
    assert head["ContentDisposition"] == 'attachment; filename="poster.jpg"'
    assert "ChecksumSHA256" in head
    tags = client.get_object_tagging(Bucket=TEST_BUCKET, Key=key)["TagSet"]
    assert tags == [{"Key": "adreel-profile", "Value": "preview"}]


def test_large_files_go_up_in_parts(s3_endpoint, tmp_path):
    store = S3Store(TEST_BUCKET, endpoint_url=s3_endpoint, path_style=True)
    payload = os.urandom(40 * 2**20)
    key = asset_key(unique_prefix(), "m-3", hashlib.sha256(payload).hexdigest(), "final", "mp4")
    put(store, key, payload, tmp_path)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    etag = client.head_object(Bucket=TEST_BUCKET, Key=key)["ETag"]
    assert etag.strip('"').endswith("-3")  # three 16 MB parts
    assert store.read(key) == payload


def test_dropped_connections_are_retried(s3_endpoint, tmp_path):
    proxy = DroppingProxy(urlparse(s3_endpoint).port, drops=2)
    store = S3Store(TEST_BUCKET, endpoint_url=proxy.url, path_style=True)
    key = asset_key(unique_prefix(), "m-4", DIGEST, "9x16-final", "mp4")
    put(store, key, b"made it" * 1000, tmp_path)
    assert proxy.dropped == 2 and store.read(key) == b"made it" * 1000


def test_after_the_last_retry_the_upload_fails_naming_the_key(s3_endpoint, tmp_path):
    proxy = DroppingProxy(urlparse(s3_endpoint).port, drops=10**6)
    store = S3Store(TEST_BUCKET, endpoint_url=proxy.url, path_style=True, max_attempts=3)
    key = asset_key(unique_prefix(), "m-4", DIGEST, "9x16-final", "mp4")
    with pytest.raises(StorageError, match=f"upload of {key} failed after 3 attempts"):
        put(store, key, b"never" * 1000, tmp_path)


def test_missing_bucket_names_the_setting(s3_endpoint):
    with pytest.raises(ConfigError, match=r"ADREEL_S3_BUCKET.*does not exist"):
        S3Store("no-such-bucket", endpoint_url=s3_endpoint, path_style=True).check()


def test_unreachable_endpoint_names_the_setting():
    store = S3Store(TEST_BUCKET, endpoint_url="http://127.0.0.1:1", path_style=True, max_attempts=1)
    with pytest.raises(ConfigError, match="ADREEL_S3_ENDPOINT_URL"):
        store.check()


def test_init_creates_the_bucket_and_expires_previews(s3_endpoint):
    bucket = f"init-{time.time_ns()}"
    done = S3Store(bucket, endpoint_url=s3_endpoint, path_style=True).init(preview_days=7)
    assert any("created bucket" in line for line in done)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    rule = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert rule["Expiration"]["Days"] == 7
    assert rule["Filter"]["Tag"] == {"Key": "adreel-profile", "Value": "preview"}


def test_sweep_removes_old_orphans_and_marks_rows_without_objects(store, db, tmp_path):
    prefix = unique_prefix()
    orphan = asset_key(prefix, "m-5", DIGEST, "9x16-preview", "mp4")
    put(store, orphan, b"orphan", tmp_path)
    with db.connection() as conn:
        young = sweep(conn, store, prefix, timedelta(hours=1), apply=True)
        assert young.orphans == []  # a write may still be in flight
        dry = sweep(conn, store, prefix, timedelta(0), apply=False)
        assert dry.orphans == [orphan] and store.exists(orphan)
        done = sweep(conn, store, prefix, timedelta(0), apply=True)
    assert done.orphans == [orphan] and not store.exists(orphan)
