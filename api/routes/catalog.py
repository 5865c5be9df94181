"""Catalog uploads and products of one merchant.

An upload is streamed to a temporary file (never held whole in memory, capped at
ADREEL_API_MAX_UPLOAD_MB), stored in the object store and processed in the background
(api/background.py): the answer is 202 with a job's status URL. A body cut off
mid-stream never reaches the handler, so nothing is stored.
"""

from __future__ import annotations

import base64
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from api import db as api_db
from api.auth import MERCHANT_OPS, merchant_for
from api.background import wake_catalog_jobs
from api.idempotency import idempotent, request_hash
from api.problems import ApiProblem, Problem, responses
from api.render import render
from api.uploads import save
from catalog.products import (
    page_position,
    product_page,
    stored_product_page_json,
    upload_status,
)
from catalog.report import write_report
from storage.services import services
from storage.upload_jobs import create_job, get_job, upload_object_key

router = APIRouter(
    prefix="/v1/merchants/{merchant_id}", tags=["catalog"], responses=responses(401, 404, 422)
)
Merchant = Annotated[str, Depends(merchant_for(*MERCHANT_OPS))]


class Product(BaseModel):
    id: str | None
    title: str | None
    price: str | None
    currency: str | None
    status: str
    image_status: str | None
    row: int | None = None
    errors: Any = None


class ProductPage(BaseModel):
    products: list[Product]
    next_cursor: str | None


class Upload(BaseModel):
    merchant_id: str
    version: int
    replayed: bool | None = None
    file: str | None = None
    format: str
    mode: str
    currency: str | None
    rows_read: int
    accepted: int
    rejected: int
    duplicates_collapsed: int
    created: int
    updated: int
    unchanged: int
    removed: int
    rule_counts: dict[str, int]
    status_url: str


def _cursor(key: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _after(cursor: str) -> tuple[bool, str, int]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not (
            isinstance(key, list)
            and len(key) == 3
            and isinstance(key[0], bool)
            and isinstance(key[1], str)
            and isinstance(key[2], int)
        ):
            raise ValueError
        return key[0], key[1], key[2]
    except ValueError:
        raise ApiProblem(422, "cursor: not a cursor this API gave", field="cursor") from None


@router.get("/products", response_model=ProductPage)
async def list_products(
    merchant_id: Merchant,
    status: Literal["live", "removed", "quarantined"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
):
    """The catalog as stored, in id order (quarantined rows of the latest upload last),
    a page at a time: pass ``next_cursor`` back as ``cursor``."""
    after = _after(cursor) if cursor else None
    if status != "quarantined" and not (after and after[0]):
        # the common case, a page of stored products: JSON built by PostgreSQL, served
        # on the event loop (BENCHMARKS.md, api)
        async with api_db.pool().connection() as conn:
            found = await stored_product_page_json(
                conn, merchant_id, status, after[1] if after else None, limit
            )
        if found is not None:
            products, last_id, more = found
            next_cursor = json.dumps(_cursor((False, last_id, 0)) if more else None)
            body = f'{{"products":{products},"next_cursor":{next_cursor}}}'
            return Response(body.encode(), media_type="application/json")
    page, more = await run_in_threadpool(
        product_page, services().db, merchant_id, status, after, limit
    )
    next_cursor = _cursor(page_position(page[-1])) if more else None
    return render({"products": page, "next_cursor": next_cursor})


class UploadJob(BaseModel):
    """A catalog upload processed in the background: ``processing``, then ``processed``
    (``upload`` has the counts and rejected rows per rule; the report and rejected-rows
    links) or ``failed`` (``problem`` says which file, row and field)."""

    job_id: int
    merchant_id: str
    status: Literal["processing", "processed", "failed"]
    file: str
    created_at: datetime
    finished_at: datetime | None
    upload: Upload | None
    problem: Problem | None
    status_url: str
    report_url: str | None
    rejected_csv_url: str | None


@router.post(
    "/catalog/uploads",
    status_code=202,
    response_model=UploadJob,
    responses=responses(413),
)
def upload(
    request: Request,
    merchant_id: Merchant,
    file: Annotated[UploadFile, File(description="The catalog file.")],
    format: Annotated[
        Literal["google", "meta", "shopify", "google_xml", "jsonl", "parquet"] | None,
        Form(),
    ] = None,
    currency: Annotated[str | None, Form(pattern=r"^[A-Za-z]{3}$")] = None,
    images: Annotated[Literal["upload", "defer"], Form()] = "upload",
    mode: Annotated[Literal["full", "update"], Form()] = "full",
    idempotency_key: Annotated[str | None, Header()] = None,
):
    """Upload a catalog file: stored, then processed in the background (202): good rows
    upserted, bad rows quarantined with reasons. Follow ``status_url`` (also the
    ``Location`` header) until it is ``processed`` or ``failed``; ``catalog.processed``
    webhooks are queued when it is processed. The same file again, the same way, changes
    nothing (``upload.replayed``)."""
    key = request.state.api_key
    with tempfile.TemporaryDirectory(prefix="adreel-upload-") as folder:
        path, sha256 = save(file, Path(folder), "catalog")
        options = {"format": format, "currency": currency, "images": images, "mode": mode}
        fingerprint = request_hash("upload", merchant_id, sha256, options)

        def run():
            store = services().store
            object_key = upload_object_key(services().settings.s3_prefix, merchant_id, sha256)
            if not store.exists(object_key):
                store.put_file(object_key, path, "application/octet-stream", sha256=sha256)
            job = create_job(
                services().db, merchant_id, object_key, path.name, sha256, options, key.key_id
            )
            wake_catalog_jobs()
            return 202, _job_shown(request, job)

        response = idempotent(key, idempotency_key, fingerprint, run)
        url = json.loads(response.body)["status_url"]
        response.headers["Location"] = url
        return response


def _job_shown(request: Request, job: dict) -> dict:
    merchant_id, job_id = job["merchant_id"], job["job_id"]
    result = job["result"]
    shown = {
        "job_id": job_id,
        "merchant_id": merchant_id,
        "status": job["status"],
        "file": job["file_name"],
        "created_at": job["created_at"],
        "finished_at": job["finished_at"],
        "upload": None,
        "problem": job["problem"],
        "status_url": str(request.url_for("upload_job", merchant_id=merchant_id, job_id=job_id)),
        "report_url": None,
        "rejected_csv_url": None,
    }
    if result is not None:
        version = result["version"]
        shown["upload"] = {**result, "status_url": _status_url(request, merchant_id, version)}
        for name, part in (("report_url", "report"), ("rejected_csv_url", "rejected.csv")):
            shown[name] = str(
                request.url_for(
                    "upload_report", merchant_id=merchant_id, version=version, part=part
                )
            )
    return shown


@router.get("/catalog/jobs/{job_id}", response_model=UploadJob, name="upload_job")
def get_upload_job(
    request: Request,
    merchant_id: Merchant,
    job_id: Annotated[int, PathParam(ge=1, le=2**62)],
):
    """An upload sent to ``POST .../catalog/uploads``: ``processing``, ``processed``
    (counts, rejected rows per rule, report and rejected-rows links) or ``failed``."""
    return render(_job_shown(request, get_job(services().db, merchant_id, job_id)))


def _status_url(request: Request, merchant_id: str, version: int) -> str:
    return str(request.url_for("upload_status", merchant_id=merchant_id, version=version))


@router.get("/catalog/uploads/{version}", response_model=Upload, name="upload_status")
def get_upload(
    request: Request,
    merchant_id: Merchant,
    version: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
):
    """One upload: file, options, counts and rejected rows per rule."""
    found = upload_status(services().db, merchant_id, version)
    shown = {k: v for k, v in found.items() if k not in ("file_sha256", "images", "uploaded_at")}
    shown["file"] = found["file_name"]
    shown.pop("file_name", None)
    shown["uploaded_at"] = found["uploaded_at"]
    shown["status_url"] = _status_url(request, merchant_id, version)
    return render(shown)


REPORT_TYPES = {"report": "text/html; charset=utf-8", "rejected.csv": "text/csv; charset=utf-8"}


@router.get(
    "/catalog/uploads/{version}/{part}",
    name="upload_report",
    response_class=Response,
    responses={200: {"content": {t: {} for t in REPORT_TYPES.values()}}},
)
def upload_report(
    merchant_id: Merchant,
    version: Annotated[int, PathParam(ge=1, le=2**31 - 1)],
    part: Literal["report", "rejected.csv"],
):
    """The upload's validation report (``report``: HTML, each rule with examples) or its
    rejected rows (``rejected.csv``), as `adreel catalog report` writes them."""
    with tempfile.TemporaryDirectory(prefix="adreel-report-") as folder:
        html_path, csv_path = Path(folder) / "report.html", Path(folder) / "rejected.csv"
        write_report(services().db, merchant_id, version, html_path, csv_path)
        content = (html_path if part == "report" else csv_path).read_bytes()
    name = f"catalog-{merchant_id}-v{version}-{'report.html' if part == 'report' else part}"
    return Response(
        content,
        media_type=REPORT_TYPES[part],
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
