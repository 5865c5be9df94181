"""Object stores for finished ads and product images: S3 (boto3) or a local directory.

Both implement ``ObjectStore`` and are tested by one suite. Keys are scoped by
merchant and addressed by content, so the same bytes are written once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from storage.errors import ConfigError
from storage.settings import Settings

_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoredObject:
    key: str
    size_bytes: int
    sha256: str
    content_type: str


class ObjectStore(Protocol):
    def check(self) -> None:
        """Raise ``ConfigError`` naming the setting to fix when the store is unusable."""

    def put_file(
        self, key: str, path: Path, content_type: str, metadata: dict[str, str] | None = None
    ) -> StoredObject: ...

    def exists(self, key: str) -> bool: ...

    def read(self, key: str) -> bytes: ...

    def location(self, key: str) -> str:
        """Where a person finds the object: a file path or an s3:// URL."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def asset_key(prefix: str, merchant_id: str, sha256: str, variant: str, ext: str) -> str:
    return f"{prefix}/merchants/{merchant_id}/assets/{sha256}/{variant}.{ext}"


def product_image_key(prefix: str, merchant_id: str, sha256: str, ext: str) -> str:
    return f"{prefix}/merchants/{merchant_id}/product-images/{sha256}.{ext}"


class LocalStore:
    """Objects as files under one directory; writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError("ADREEL_HOME", f"cannot create {self.root}: {exc.strerror}") from exc

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key {key!r} escapes the store")
        return path

    def put_file(
        self, key: str, path: Path, content_type: str, metadata: dict[str, str] | None = None
    ) -> StoredObject:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        os.close(fd)
        shutil.copyfile(path, staging)
        os.replace(staging, target)
        return StoredObject(key, target.stat().st_size, sha256_file(target), content_type)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def location(self, key: str) -> str:
        return str(self._path(key))


class S3Store:
    """Objects in an S3 bucket: AWS, MinIO, moto's server or any S3-compatible endpoint."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        path_style: bool = False,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.endpoint_url = endpoint_url
        config = Config(
            region_name=region,
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=5,
            read_timeout=60,
            s3={"addressing_style": "path" if path_style else "auto"},
        )
        self.client = boto3.client("s3", endpoint_url=endpoint_url, config=config)

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        where = self.endpoint_url or "AWS"
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except NoCredentialsError as exc:
            raise ConfigError(
                "AWS_ACCESS_KEY_ID", "no S3 credentials found (set AWS_ACCESS_KEY_ID/SECRET)"
            ) from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("404", "NoSuchBucket", "NotFound"):
                problem = f"bucket {self.bucket!r} does not exist at {where}"
            else:
                problem = f"bucket {self.bucket!r} at {where} refused access ({code})"
            raise ConfigError("ADREEL_S3_BUCKET", problem) from exc
        except BotoCoreError as exc:
            raise ConfigError("ADREEL_S3_ENDPOINT_URL", f"cannot reach {where}: {exc}") from exc

    def put_file(
        self, key: str, path: Path, content_type: str, metadata: dict[str, str] | None = None
    ) -> StoredObject:
        extra = {
            "ContentType": content_type,
            "ChecksumAlgorithm": "SHA256",
            "Metadata": metadata or {},
        }
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra)
        return StoredObject(key, path.stat().st_size, sha256_file(path), content_type)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings name, checked to be usable."""
    store: ObjectStore
    if settings.s3_bucket:
        store = S3Store(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            path_style=settings.s3_path_style,
        )
    else:
        store = LocalStore(settings.object_dir)
    store.check()
    return store


def put_bytes(
    store: ObjectStore,
    key: str,
    data: bytes,
    content_type: str,
    metadata: dict[str, str] | None = None,
) -> StoredObject:
    """Store in-memory bytes through the same path as files (atomic locally, checksummed on S3)."""
    with tempfile.NamedTemporaryFile(prefix="adreel-put-") as handle:
        handle.write(data)
        handle.flush()
        return store.put_file(key, Path(handle.name), content_type, metadata)
