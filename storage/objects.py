"""Object stores for finished ads and product images: S3 (boto3) or a local directory.

Both implement ``ObjectStore`` and run the same test suite. Keys are scoped by merchant
and addressed by content (``{prefix}/merchants/{merchant}/assets/{sha256}/{variant}.{ext}``),
so the same bytes are written once; every key segment is checked, so hostile ids can
never reach outside their merchant's prefix.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from storage.errors import AdreelError
from storage.settings import Settings

_CHUNK = 1 << 20
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
PREVIEW_TAG = ("adreel-profile", "preview")


class StorageError(AdreelError):
    """An object could not be written or read; the message names the key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size_bytes: int
    sha256: str
    content_type: str


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    modified_at: datetime  # timezone-aware UTC


class ObjectStore(Protocol):
    def check(self) -> None:
        """Raise ``ConfigError`` naming the setting to fix when the store is unusable."""

    def put_file(
        self,
        key: str,
        path: Path,
        content_type: str,
        metadata: dict[str, str] | None = None,
        download_name: str | None = None,
        expires: bool = False,
        sha256: str | None = None,
    ) -> StoredObject:
        """Write ``path`` under ``key``; ``expires`` marks it for the preview lifecycle rule.

        ``sha256``: the file's digest when the caller has it already (content-addressed
        keys do), so the file is not read an extra time.
        """

    def exists(self, key: str) -> bool: ...

    def read(self, key: str) -> bytes: ...

    def download(self, key: str, target: Path) -> None: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]: ...

    def url(self, key: str, expires_s: int, download_name: str | None = None) -> str:
        """A link that serves the object: presigned and expiring on S3."""

    def location(self, key: str) -> str:
        """Where a person finds the object: a file path or an s3:// URL."""

    def init(self, preview_days: int) -> list[str]:
        """Create what the store needs; return what was done, in words."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_segment(value: str, what: str) -> str:
    """One key segment: letters, digits, ``_ . -``; never ``..``, slashes or control bytes."""
    if not _SEGMENT.match(value) or ".." in value:
        raise StorageError(f"{what} {value!r} cannot be part of an object key")
    return value


def merchant_prefix(prefix: str, merchant_id: str) -> str:
    return f"{prefix}/merchants/{safe_segment(merchant_id, 'merchant id')}/"


def asset_key(prefix: str, merchant_id: str, sha256: str, variant: str, ext: str) -> str:
    if not _DIGEST.match(sha256):
        raise StorageError(f"{sha256!r} is not a SHA-256 digest")
    return (
        f"{merchant_prefix(prefix, merchant_id)}assets/{sha256}/"
        f"{safe_segment(variant, 'variant')}.{safe_segment(ext, 'extension')}"
    )


def product_image_key(prefix: str, merchant_id: str, sha256: str, ext: str) -> str:
    if not _DIGEST.match(sha256):
        raise StorageError(f"{sha256!r} is not a SHA-256 digest")
    return (
        f"{merchant_prefix(prefix, merchant_id)}product-images/{sha256}."
        f"{safe_segment(ext, 'extension')}"
    )


def open_store(settings: Settings) -> ObjectStore:
    """The store the settings name, checked to be usable."""
    store = build_store(settings)
    store.check()
    return store


def build_store(settings: Settings) -> ObjectStore:
    """The store the settings name, unchecked (``adreel storage init`` creates it)."""
    store: ObjectStore
    if settings.s3_bucket:
        from storage.s3_store import S3Store

        store = S3Store(
            settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            path_style=settings.s3_path_style,
        )
    else:
        from storage.local_store import LocalStore

        store = LocalStore(settings.object_dir)
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
