"""One suite for both object stores: the local directory and S3 over HTTP (moto's server)."""

from __future__ import annotations

import hashlib

import boto3
import pytest

from storage.errors import ConfigError
from storage.objects import LocalStore, S3Store, asset_key
from tests.conftest import TEST_BUCKET


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, s3_endpoint):
    if request.param == "local":
        return LocalStore(tmp_path / "objects")
    return S3Store(TEST_BUCKET, endpoint_url=s3_endpoint, path_style=True)


def test_put_then_read_back_the_same_bytes(store, tmp_path):
    payload = b"\x00\x01 an mp4, say " * 1000
    source = tmp_path / "ad.mp4"
    source.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    key = asset_key("adreel", "m-1", digest, "9x16-preview", "mp4")
    store.check()

    stored = store.put_file(key, source, "video/mp4", {"merchant": "m-1"})

    assert (stored.sha256, stored.size_bytes) == (digest, len(payload))
    assert store.exists(key)
    assert store.read(key) == payload
    assert key in store.location(key)


def test_missing_object_does_not_exist(store):
    assert not store.exists("adreel/merchants/m-1/assets/none/9x16-preview.mp4")


def test_local_store_refuses_keys_that_escape_it(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path / "objects").exists("../../etc/passwd")


def test_s3_upload_carries_type_metadata_and_a_checksum_s3_verified(s3_endpoint, tmp_path):
    source = tmp_path / "poster.jpg"
    source.write_bytes(b"jpeg bytes")
    store = S3Store(TEST_BUCKET, endpoint_url=s3_endpoint, path_style=True)
    store.put_file("adreel/x/poster.jpg", source, "image/jpeg", {"merchant": "m-2"})

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    head = client.head_object(Bucket=TEST_BUCKET, Key="adreel/x/poster.jpg", ChecksumMode="ENABLED")
    assert head["ContentType"] == "image/jpeg"
    assert head["Metadata"] == {"merchant": "m-2"}
    assert "ChecksumSHA256" in head


def test_missing_bucket_names_the_setting(s3_endpoint):
    with pytest.raises(ConfigError, match=r"ADREEL_S3_BUCKET.*does not exist"):
        S3Store("no-such-bucket", endpoint_url=s3_endpoint, path_style=True).check()


def test_unreachable_endpoint_names_the_setting():
    store = S3Store(TEST_BUCKET, endpoint_url="http://127.0.0.1:1", path_style=True)
    with pytest.raises(ConfigError, match="ADREEL_S3_ENDPOINT_URL"):
        store.check()
