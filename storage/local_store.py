"""The local-directory object store: the default on one machine."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from storage.errors import ConfigError
from storage.objects import ObjectInfo, StorageError, StoredObject, sha256_file


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
            raise StorageError(f"object key {key!r} escapes the store")
        return path

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
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        os.close(fd)
        shutil.copyfile(path, staging)
        os.replace(staging, target)
        return StoredObject(key, target.stat().st_size, sha256 or sha256_file(target), content_type)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise StorageError(f"object {key} does not exist") from None

    def download(self, key: str, target: Path) -> None:
        try:
            shutil.copyfile(self._path(key), target)
        except FileNotFoundError:
            raise StorageError(f"object {key} does not exist") from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = self._path(prefix) if prefix else self.root.resolve()
        root = self.root.resolve()
        for path in sorted(base.rglob("*") if base.is_dir() else []):
            if path.is_file() and not path.name.startswith(".upload-"):
                stat = path.stat()
                yield ObjectInfo(
                    str(path.relative_to(root)),
                    stat.st_size,
                    datetime.fromtimestamp(stat.st_mtime, UTC),
                )

    def url(self, key: str, expires_s: int, download_name: str | None = None) -> str:
        """A file:// link; a local directory has no expiring links."""
        return self._path(key).as_uri()

    def location(self, key: str) -> str:
        return str(self._path(key))

    def init(self, preview_days: int) -> list[str]:
        self.check()
        return [
            f"directory {self.root} ready",
            "a local directory has no lifecycle rules: previews are kept",
        ]
