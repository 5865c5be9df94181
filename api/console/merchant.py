"""Merchant pages beyond home and the review board: catalog upload and its validation
report, product thumbnails, the brand kit with a live end-card preview, and the wallet
over time. Each handler checks the session and its tenant, then calls the service
function the CLI and the API call (``catalog.upload``, ``catalog.report``,
``composer.kits``, ``billing.service``)."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import ACCOUNT_OPS
from api.console.charts import bar_chart, line_chart
from api.console.pages import PageRoute, checked_form, first, page, reachable, signed_in
from api.problems import ApiProblem
from api.uploads import save
from billing import service as billing
from catalog.errors import CatalogError
from catalog.products import list_products, product_page, upload_status
from catalog.report import RULE_HELP, write_report
from catalog.uploads import get_upload
from composer.kits import brand_kit, set_brand_kit
from storage.errors import AdreelError
from storage.services import services

router = APIRouter(route_class=PageRoute, include_in_schema=False)
LINK_S = 3600  # presigned links stay valid this long
CHART_WIDTH = 1000  # the width of the page's cards, so that labels keep their size
CHART_DAYS = 30
CATALOG_SUFFIXES = ".csv,.tsv,.txt,.xml,.jsonl,.ndjson,.json,.parquet"
# First bytes of files people pick by mistake: refused by name before any parsing.
NOT_CATALOGS = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an .xlsx spreadsheet is one: export it as CSV)",
    b"RIFF": "a media file",
}


def _serve(url: str) -> Response:
    """A stored object: a redirect to its presigned link, or the local file itself."""
    if url.startswith("file://"):
        return FileResponse(Path(unquote(urlparse(url).path)))
    return RedirectResponse(url, status_code=302)


# --- catalog upload and report ----------------------------------------------------------


@router.get("/m/{merchant_id}/catalog")
def catalog_page(request: Request, merchant_id: str):
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    return _catalog_page(request, session, merchant_id)


def _catalog_page(request, session, merchant_id, status_code=200, error=None):
    with services().db.connection() as conn:
        latest = get_upload(conn, merchant_id, None)
    return page(
        request,
        "catalog.html",
        session,
        status_code,
        merchant_id=merchant_id,
        latest=latest,
        suffixes=CATALOG_SUFFIXES,
        error=error,
    )


@router.post("/m/{merchant_id}/catalog")
async def upload_catalog_file(request: Request, merchant_id: str):
    """Upload a catalog as `adreel catalog upload` does; a file that is not a catalog is
    told on the page, and nothing changes."""
    session = signed_in(request)
    form = await checked_form(request, session)
    merchant_id = reachable(session, merchant_id)
    upload = (form.get("file") or [None])[0]
    mode = first(form, "mode") or "full"
    if not hasattr(upload, "filename") or not upload.filename:
        return _catalog_page(request, session, merchant_id, 422, "Choose a catalog file first.")
    with tempfile.TemporaryDirectory(prefix="adreel-console-catalog-") as folder:
        path, _ = save(upload, Path(folder), "catalog")
        head = path.read_bytes()[:8] if path.stat().st_size else b""
        kind = next((what for magic, what in NOT_CATALOGS.items() if head.startswith(magic)), None)
        if not head or kind:
            problem = f"it looks like {kind}" if kind else "it is empty"
            return _catalog_page(
                request,
                session,
                merchant_id,
                422,
                f"{path.name} is not a catalog file ({problem}); nothing was changed. "
                "Upload a product feed: CSV or TSV, Shopify export, XML, JSON Lines or Parquet.",
            )
        from catalog.upload import upload_catalog  # pandas and the validation suite: only here

        try:
            result = await run_in_threadpool(
                upload_catalog, services(), merchant_id, path, None, None, "upload", mode=mode
            )
        except CatalogError as exc:
            detail = f"{path.name}: row {exc.row}: {exc.field}: {exc.problem}"
            return _catalog_page(
                request, session, merchant_id, 422, f"{detail}. Nothing was changed."
            )
        except AdreelError as exc:
            detail = str(exc).replace(f"{folder}/", "")
            return _catalog_page(request, session, merchant_id, 422, detail)
    notice = "replayed" if result.replayed else "uploaded"
    target = f"/m/{merchant_id}/catalog/uploads/{result.version}?notice={notice}"
    return RedirectResponse(target, status_code=303)


@router.get("/m/{merchant_id}/catalog/uploads/{version}")
def upload_report_page(request: Request, merchant_id: str, version: int):
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    upload = upload_status(services().db, merchant_id, version)
    with tempfile.TemporaryDirectory(prefix="adreel-console-report-") as folder:
        report = write_report(
            services().db, merchant_id, version, Path(folder) / "r.html", Path(folder) / "r.csv"
        )
    rules = [{**rule, "help": RULE_HELP.get(rule["rule"], "")} for rule in report.rules]
    return page(
        request,
        "catalog_report.html",
        session,
        merchant_id=merchant_id,
        upload=upload,
        rules=rules,
        rejected=report.rejected,
    )


@router.get("/m/{merchant_id}/catalog/uploads/{version}/rejected.csv")
def rejected_csv(request: Request, merchant_id: str, version: int):
    """The rejected rows with their errors, as `adreel catalog report` writes them."""
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    with tempfile.TemporaryDirectory(prefix="adreel-console-report-") as folder:
        csv_path = Path(folder) / "rejected.csv"
        write_report(services().db, merchant_id, version, Path(folder) / "r.html", csv_path)
        content = csv_path.read_bytes()
    name = f"catalog-{merchant_id}-v{version}-rejected.csv"
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- product thumbnails -----------------------------------------------------------------


@router.get("/m/{merchant_id}/products/{product_id:path}/image")
def product_image(request: Request, merchant_id: str, product_id: str):
    """The product's stored image (another merchant's product reads as missing)."""
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    with services().db.connection() as conn:
        found = list_products(conn, merchant_id, [product_id])
    if not found or not found[0]["image_key"]:
        raise ApiProblem(404, f"product {product_id} has no stored image")
    return _serve(services().store.url(found[0]["image_key"], LINK_S))


# --- brand kit --------------------------------------------------------------------------


def _kit_form(kit: dict | None) -> dict[str, Any]:
    kit = kit or {}
    cta = kit.get("call_to_action")
    return {
        "name": kit.get("name") or "",
        "primary": kit.get("primary_colour") or "#ffc400",
        "secondary": kit.get("secondary_colour") or "#111114",
        "call_to_action": json.dumps(cta, ensure_ascii=False) if isinstance(cta, dict) else cta,
    }


def _brand_page(request, session, merchant_id, status_code=200, error=None, values=None):
    db = services().db
    kit = brand_kit(db, merchant_id)
    products, _ = product_page(db, merchant_id, "live", None, 50)
    pictured = next((p for p in products if p["image_status"] == "ready"), None)
    return page(
        request,
        "brand.html",
        session,
        status_code,
        merchant_id=merchant_id,
        kit=kit,
        values=values or _kit_form(kit),
        pictured=pictured,
        may_save=session.key.role in ACCOUNT_OPS,
        error=error,
    )


@router.get("/m/{merchant_id}/brand")
def brand_page(request: Request, merchant_id: str):
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    return _brand_page(request, session, merchant_id)


@router.get("/m/{merchant_id}/brand/{part}")
def brand_file(request: Request, merchant_id: str, part: str):
    """The stored logo or font, for the preview."""
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    kit = brand_kit(services().db, merchant_id) or {}
    if part not in ("logo", "font") or not kit.get(f"{part}_key"):
        raise ApiProblem(404, f"the brand kit of {merchant_id} has no {part}")
    if part == "font":  # from this origin: a page loads fonts from elsewhere only with CORS
        media = "font/otf" if kit["font_key"].endswith(".otf") else "font/ttf"
        return Response(services().store.read(kit["font_key"]), media_type=media)
    return _serve(services().store.url(kit["logo_key"], LINK_S))


@router.post("/m/{merchant_id}/brand")
async def save_brand(request: Request, merchant_id: str):
    """Store the kit as `adreel brand set` does (account managers, as in the API); the
    logo and font stay as stored unless a new file is given or removal is ticked."""
    session = signed_in(request, *ACCOUNT_OPS)
    form = await checked_form(request, session)
    merchant_id = reachable(session, merchant_id)
    values = {
        "name": first(form, "name"),
        "primary": first(form, "primary"),
        "secondary": first(form, "secondary"),
        "call_to_action": first(form, "call_to_action"),
    }
    kit = brand_kit(services().db, merchant_id) or {}
    with tempfile.TemporaryDirectory(prefix="adreel-console-brand-") as folder:
        fields: dict[str, Any] = {k: v for k, v in values.items() if v}
        if values["call_to_action"].startswith("{"):
            try:
                fields["call_to_action"] = json.loads(values["call_to_action"])
            except ValueError:
                message = 'Call to action: write one text, or per language {"en": "Shop now"}.'
                return _brand_page(request, session, merchant_id, 422, message, values)
        for part in ("logo", "font"):
            upload = (form.get(part) or [None])[0]
            if hasattr(upload, "filename") and upload.filename:
                fields[part] = save(upload, Path(folder), part)[0].name
            elif kit.get(f"{part}_key") and not first(form, f"remove_{part}"):
                kept = Path(folder) / f"kept-{part}{Path(kit[f'{part}_key']).suffix}"
                services().store.download(kit[f"{part}_key"], kept)
                fields[part] = kept.name
        kit_file = Path(folder) / "brand-kit.yaml"
        kit_file.write_text(yaml.safe_dump(fields, allow_unicode=True), encoding="utf-8")
        try:
            _, changed = await run_in_threadpool(set_brand_kit, services(), merchant_id, kit_file)
        except AdreelError as exc:
            detail = str(exc).replace(f"{folder}/", "").replace(str(kit_file), "brand kit")
            return _brand_page(request, session, merchant_id, 422, detail, values)
    notice = "brand-saved" if changed else "brand-unchanged"
    return RedirectResponse(f"/m/{merchant_id}/brand?notice={notice}", status_code=303)


# --- wallet over time -------------------------------------------------------------------


def last_days(history: list[dict], today: date, days: int = CHART_DAYS) -> list[dict]:
    """Every one of the last ``days`` days, with no postings on a day as zero and the
    balance carried over, so that the charts' x axis is time even for a new wallet."""
    by_day = {row["day"]: row for row in history}
    balance = sum(
        (
            row["credited"] - row["debited"]
            for row in history
            if row["day"] < today - timedelta(days - 1)
        ),
        Decimal(0),
    )
    filled = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(offset)
        row = by_day.get(day)
        if row:
            balance = row["balance"]
        used = row["debited"] if row else Decimal(0)
        filled.append({"day": day, "used": used, "balance": balance})
    return filled


@router.get("/m/{merchant_id}/wallet")
def wallet_page(request: Request, merchant_id: str):
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    db = services().db
    history = billing.wallet_history(db, merchant_id)
    days = last_days(history, datetime.now(UTC).date())
    balance = line_chart(
        f"Token balance at the end of each day, last {CHART_DAYS} days",
        {"Balance": [(d["day"], d["balance"]) for d in days]},
        y_label="tokens",
        width=CHART_WIDTH,
    )
    usage = bar_chart(
        f"Tokens used by renders per day, last {CHART_DAYS} days",
        {"Used by renders": [(d["day"], d["used"]) for d in days]},
        y_label="tokens",
        width=CHART_WIDTH,
    )
    return page(
        request,
        "wallet.html",
        session,
        merchant_id=merchant_id,
        wallet=billing.wallet(db, merchant_id),
        history=history[::-1][:60],
        balance_chart=balance,
        usage_chart=usage,
    )
