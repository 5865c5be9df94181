"""Uploaded files: streamed to a temporary folder (never held whole in memory) under
their own harmless names, and errors about them told by that name, not the server's path."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import UploadFile

from api.problems import ApiProblem, error_status
from billing.feeds import FeedError
from storage.errors import AdreelError

COPY_CHUNK = 1024 * 1024


def safe_name(name: str | None, default: str = "upload") -> str:
    """The uploaded file's own name (its extension tells the format), made harmless."""
    base = Path(name or default).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:100] or default


def save(file: UploadFile, folder: Path, default: str = "upload") -> tuple[Path, str]:
    """Copy the upload into ``folder``; its path and SHA-256."""
    path = folder / safe_name(file.filename, default)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        while chunk := file.file.read(COPY_CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return path, digest.hexdigest()


@contextmanager
def upload_folder(prefix: str) -> Iterator[Path]:
    """A temporary folder for uploads; an AdreelError raised inside becomes a problem
    document naming the uploaded files by their own names (bad rows listed one by one)."""
    with tempfile.TemporaryDirectory(prefix=f"adreel-{prefix}-") as folder:
        try:
            yield Path(folder)
        except FeedError as exc:
            rows = [
                {"file": Path(e.path).name, "row": e.row, "field": e.field, "problem": e.problem}
                for e in exc.errors
            ]
            first = rows[0] if rows else {}
            raise ApiProblem(
                422,
                str(exc).replace(f"{folder}/", ""),
                file=first.get("file"),
                row=first.get("row"),
                field=first.get("field"),
                errors=rows,
                more=exc.more,
            ) from None
        except AdreelError as exc:
            raise ApiProblem(error_status(exc), str(exc).replace(f"{folder}/", "")) from None
