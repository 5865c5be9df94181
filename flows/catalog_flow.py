"""The ``ingest_catalog`` flow: scheduled catalog pulls for merchants.

An account manager points a deployment at a feed file (a path or a mounted share) on a
schedule; each run uploads it exactly like ``adreel catalog upload``, so an unchanged
feed is a no-op and a changed one reports what changed.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from catalog.upload import upload_catalog
from storage.services import services


@task(retries=2, retry_delay_seconds=[5, 30])
def upload(merchant_id: str, path: str, fmt: str | None, currency: str | None, images: str) -> dict:
    return upload_catalog(services(), merchant_id, Path(path), fmt, currency, images).as_dict()


@flow(name="ingest-catalog")
def ingest_catalog(
    merchant_id: str,
    path: str,
    fmt: str | None = None,
    currency: str | None = None,
    images: str = "upload",
) -> dict:
    # 1. Upload the feed: validate, quarantine bad rows, upsert the rest (one transaction).
    return upload(merchant_id, path, fmt, currency, images)
