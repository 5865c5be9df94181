"""Catalog uploads and products of one merchant.

Uploads are processed synchronously: the answer (201) carries the counts and rejected
rows per rule, and a status URL that keeps them. The file is streamed to a temporary
file (never held whole in memory), capped at ADREEL_API_MAX_UPLOAD_MB.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import MERCHANT_OPS, merchant_for
from api.idempotency import idempotent, request_hash
from api.problems import ApiProblem, responses
from api.render import render
from catalog.products import page_position, product_page, upload_status
from catalog.report import write_report
from storage.services import services
from storage.webhooks import emit

router = APIRouter(
    prefix="/v1/merchants/{merchant_id}", tags=["catalog"], responses=responses(401, 404, 422)
)
Merchant = Annotated[str, Depends(merchant_for(*MERCHANT_OPS))]
COPY_CHUNK = 1024 * 1024


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
def list_products(
    merchant_id: Merchant,
    status: Literal["live", "removed", "quarantined"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
):
    """The catalog as stored, in id order (quarantined rows of the latest upload last),
    a page at a time: pass ``next_cursor`` back as ``cursor``."""
    after = _after(cursor) if cursor else None
    page, more = product_page(services().db, merchant_id, status, after, limit)
    next_cursor = _cursor(page_position(page[-1])) if more else None
    return render({"products": page, "next_cursor": next_cursor})


def _safe_name(name: str | None) -> str:
    """The uploaded file's own name (its extension tells the format), made harmless."""
    base = Path(name or "catalog").name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:100] or "catalog"


@router.post(
    "/catalog/uploads",
    status_code=201,
    response_model=Upload,
    responses={200: {"model": Upload, "description": "The same upload again: a replay"}}
    | responses(413),
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
    """Upload a catalog file: good rows upserted, bad rows quarantined with reasons.
    The same file again, the same way, changes nothing (200, ``replayed``)."""
    from catalog.upload import upload_catalog  # pandas and the validation suite: only here

    with tempfile.TemporaryDirectory(prefix="adreel-upload-") as folder:
        path = Path(folder) / _safe_name(file.filename)
        digest = hashlib.sha256()
        with path.open("wb") as out:
            while chunk := file.file.read(COPY_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        options = [format, currency, images, mode]
        fingerprint = request_hash("upload", merchant_id, digest.hexdigest(), options)

        def run():
            result = upload_catalog(
                services(), merchant_id, path, format, currency, images, mode=mode
            ).as_dict()
            result["status_url"] = _status_url(request, merchant_id, result["version"])
            if not result["replayed"]:
                counts = {k: result[k] for k in ("rows_read", "accepted", "rejected")}
                event = {"version": result["version"], **counts, "status_url": result["status_url"]}
                emit(services().db, merchant_id, "catalog.processed", result["version"], event)
            return (200 if result["replayed"] else 201), result

        return idempotent(request.state.api_key, idempotency_key, fingerprint, run)


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
