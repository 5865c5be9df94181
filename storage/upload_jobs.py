"""Catalog upload jobs of the HTTP API: a stored file waiting to be processed, and then
what came of it (the upload's counts, or the problem document).

Beside keys and webhooks because it is the API's infrastructure, not a business rule:
the processing itself is ``catalog.upload.upload_catalog``, the same as the CLI's. A job
is held with a session advisory lock by the process running it, so when that process
dies its connection closes, the lock goes, and another process takes the job over.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from storage.db import CONNECT_TIMEOUT_S, Database
from storage.errors import NotFound
from storage.merchants import ensure_merchant
from storage.objects import merchant_prefix
from storage.queries import query


class UnknownUploadJob(NotFound):
    def __init__(self, merchant_id: str, job_id: int) -> None:
        super().__init__(f"merchant {merchant_id} has no catalog upload job {job_id}")


def upload_object_key(prefix: str, merchant_id: str, sha256: str) -> str:
    """Where an uploaded catalog file is kept: by merchant and content, so that the same
    file sent again is stored once."""
    return f"{merchant_prefix(prefix, merchant_id)}catalog-uploads/{sha256}"


def create_job(
    db: Database,
    merchant_id: str,
    object_key: str,
    file_name: str,
    file_sha256: str,
    options: dict[str, Any],
    created_by: int | None,
) -> dict[str, Any]:
    """A job for a stored upload; it waits for a worker (``claim_job``)."""
    params = {
        "merchant_id": merchant_id,
        "object_key": object_key,
        "file_name": file_name,
        "file_sha256": file_sha256,
        "options": Jsonb(options),
        "created_by": created_by,
    }
    with db.connection() as conn, conn.transaction():
        ensure_merchant(conn, merchant_id, merchant_id)
        return conn.execute(query("insert_upload_job"), params).fetchone()


def get_job(db: Database, merchant_id: str, job_id: int) -> dict[str, Any]:
    with db.connection() as conn:
        params = {"job_id": job_id, "merchant_id": merchant_id}
        found = conn.execute(query("find_upload_job"), params).fetchone()
    if found is None:
        raise UnknownUploadJob(merchant_id, job_id)
    return found


@contextmanager
def claim_job(db: Database) -> Iterator[dict[str, Any] | None]:
    """The oldest waiting job no other process holds, held for the block; None if
    there is none."""
    with psycopg.connect(
        db.url, autocommit=True, row_factory=dict_row, connect_timeout=CONNECT_TIMEOUT_S
    ) as conn:
        for waiting in conn.execute(query("waiting_upload_jobs")).fetchall():
            params = {"job_id": waiting["job_id"]}
            if not conn.execute(query("lock_upload_job"), params).fetchone()["locked"]:
                continue
            job = conn.execute(query("waiting_upload_job"), params).fetchone()
            if job is None:  # finished between the listing and the lock
                conn.execute(query("unlock_upload_job"), params)
                continue
            try:
                yield job
            finally:
                conn.execute(query("unlock_upload_job"), params)
            return
        yield None


def finish_job(
    db: Database, job_id: int, result: dict | None = None, problem: dict | None = None
) -> None:
    """Record what came of the job: ``result`` (processed) or ``problem`` (failed)."""
    params = {
        "job_id": job_id,
        "result": None if result is None else Jsonb(result),
        "problem": None if problem is None else Jsonb(problem),
    }
    with db.connection() as conn:
        conn.execute(query("finish_upload_job"), params)
