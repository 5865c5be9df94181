"""Account manager pages: merchants, the campaign editor (the campaign file as a form),
schedules, runs with live progress and money spent, contracts and token packs.

Each handler calls the service function the CLI and the API call (``campaigns.service``,
``billing.service``, ``api.background.start_campaign_run``); the editor validates with the
campaign file's own model, so the form and the YAML refuse the same things.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.auth import ACCOUNT_OPS
from api.background import start_campaign_run
from api.console.pages import (
    PageRoute,
    checked_form,
    first,
    page,
    reachable,
    signed_in,
)
from billing import service as billing
from campaigns import service as campaigns
from campaigns.service import MissingProducts
from campaigns.spec import COMPOSER_OPTIONS, CampaignSpec
from catalog.products import catalog_products
from composer import DURATIONS_S
from composer.templates import templates as composer_templates
from storage.errors import AdreelError, NotFound
from storage.merchants import all_merchant_ids, check_merchant
from storage.services import services

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MERCHANTS_SHOWN = 200
LIST_FIELDS = ("categories", "brands", "availability", "custom_labels")


def _today():
    return datetime.now(UTC).date()


def _merchant(request: Request, merchant_id: str):
    """The signed-in account manager's session and a merchant that exists (else 404)."""
    session = signed_in(request, *ACCOUNT_OPS)
    merchant_id = reachable(session, merchant_id)
    check_merchant(services().db, merchant_id)
    return session, merchant_id


# --- merchants -------------------------------------------------------------------------


@router.get("/merchants")
def merchants_page(request: Request, q: str = ""):
    session = signed_in(request, *ACCOUNT_OPS)
    db = services().db
    counts = Counter(c["merchant_id"] for c in campaigns.list_campaigns(db))
    ids = [m for m in all_merchant_ids(db) if q.lower() in m.lower()]
    rows = [
        {"merchant_id": m, "wallet": billing.wallet(db, m), "campaigns": counts[m]}
        for m in ids[:MERCHANTS_SHOWN]
    ]
    return page(request, "staff_merchants.html", session, merchants=rows, total=len(ids), q=q)


@router.get("/merchants/{merchant_id}")
def merchant_page(request: Request, merchant_id: str):
    session, merchant_id = _merchant(request, merchant_id)
    return _merchant_view(request, session, merchant_id)


def _merchant_view(request, session, merchant_id, status_code=200, **extra):
    db = services().db
    try:
        version, contract = billing.contract_in_force(db, merchant_id, _today())
    except NotFound:
        version, contract = None, None
    terms = contract.model_dump(mode="json", by_alias=True, exclude_none=True) if contract else {}
    return page(
        request,
        "staff_merchant.html",
        session,
        status_code,
        merchant_id=merchant_id,
        wallet=billing.wallet(db, merchant_id),
        campaigns=campaigns.list_campaigns(db, merchant_id),
        version=version,
        contract=contract,
        packs=(contract.tokens.packs if contract and contract.tokens else []),
        terms_yaml=extra.pop("terms_yaml", None) or _yaml(terms),
        purchase_key=uuid.uuid4().hex[:12],
        **extra,
    )


@router.post("/merchants/{merchant_id}/packs")
async def sell_pack(request: Request, merchant_id: str):
    """Sell or grant a contract pack, as `adreel wallet buy`: the form's purchase key is the
    ledger's key, so a form sent twice credits the wallet once."""
    session = signed_in(request, *ACCOUNT_OPS)
    form = await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    pack, key = first(form, "pack"), first(form, "purchase_key")
    if not pack or not key:
        return _merchant_view(request, session, merchant_id, 422, pack_error="Choose a pack.")
    try:
        bought = billing.buy_token_pack(services().db, merchant_id, pack, key, _today())
    except AdreelError as exc:
        return _merchant_view(request, session, merchant_id, 422, pack_error=str(exc))
    notice = "pack-sold" if bought.posted.created else "pack-replayed"
    return RedirectResponse(f"/merchants/{merchant_id}?notice={notice}", status_code=303)


@router.post("/merchants/{merchant_id}/contract")
async def set_contract(request: Request, merchant_id: str):
    """Store the terms as the merchant's next contract version, as `adreel contract create`."""
    session = signed_in(request, *ACCOUNT_OPS)
    form = await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    text = first(form, "terms")
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        return _merchant_view(
            request,
            session,
            merchant_id,
            422,
            terms_yaml=text,
            contract_error=f"contract: {where}not valid YAML",
        )
    try:
        billing.add_contract_terms(services().db, merchant_id, raw)
    except AdreelError as exc:
        return _merchant_view(
            request, session, merchant_id, 422, terms_yaml=text, contract_error=str(exc)
        )
    return RedirectResponse(f"/merchants/{merchant_id}?notice=contract-saved", status_code=303)


# --- campaigns -------------------------------------------------------------------------


@router.get("/campaigns")
def all_campaigns(request: Request):
    session = signed_in(request, *ACCOUNT_OPS)
    listed = campaigns.list_campaigns(services().db)
    return page(request, "staff_campaigns.html", session, campaigns=listed)


def _saved(merchant_id: str, campaign_id: str) -> dict:
    """The campaign's row (its file as saved, its schedule); another merchant's is 404."""
    with services().db.connection() as conn:
        return campaigns.campaign_of(conn, campaign_id, merchant_id)


def _saved_spec(merchant_id: str, campaign_id: str) -> dict:
    return _saved(merchant_id, campaign_id)["spec"]


@router.get("/merchants/{merchant_id}/campaigns/new")
def new_campaign(request: Request, merchant_id: str):
    session, merchant_id = _merchant(request, merchant_id)
    return _editor(request, session, merchant_id, _values({}), {}, editing=None)


@router.get("/merchants/{merchant_id}/campaigns/{campaign_id}/edit")
def edit_campaign(request: Request, merchant_id: str, campaign_id: str):
    session, merchant_id = _merchant(request, merchant_id)
    spec = _saved_spec(merchant_id, campaign_id)
    return _editor(request, session, merchant_id, _values(spec), {}, editing=campaign_id)


@router.get("/merchants/{merchant_id}/campaigns/{campaign_id}/campaign.yaml")
def export_campaign(request: Request, merchant_id: str, campaign_id: str):
    """The saved campaign as the YAML file `adreel campaign create --file` takes."""
    _session, merchant_id = _merchant(request, merchant_id)
    text = _yaml(_pruned(_saved_spec(merchant_id, campaign_id)))
    return Response(
        text,
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{campaign_id}.yaml"'},
    )


@router.post("/merchants/{merchant_id}/campaigns/import")
async def import_campaign(request: Request, merchant_id: str):
    """Fill the editor from a campaign file (nothing is saved until Save)."""
    session = signed_in(request, *ACCOUNT_OPS)
    form = await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    upload = (form.get("file") or [None])[0]
    name = getattr(upload, "filename", None) or "campaign.yaml"
    data = await upload.read() if hasattr(upload, "read") else b""
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        errors = {"form": f"{name}: {where}not a YAML campaign file"}
        return _editor(request, session, merchant_id, _values({}), errors, None, 422)
    if not isinstance(raw, dict):
        errors = {"form": f"{name}: expected a mapping of campaign fields"}
        return _editor(request, session, merchant_id, _values({}), errors, None, 422)
    errors = _validation_errors(raw)
    # a file of one of the merchant's campaigns edits it; any other id makes a new one
    mine = {c["campaign_id"] for c in campaigns.list_campaigns(services().db, merchant_id)}
    editing = raw.get("campaign") if raw.get("campaign") in mine else None
    return _editor(
        request,
        session,
        merchant_id,
        _values(raw),
        errors,
        editing,
        422 if errors else 200,
        imported=name,
    )


@router.post("/merchants/{merchant_id}/campaigns/save")
async def save_campaign(request: Request, merchant_id: str):
    session = signed_in(request, *ACCOUNT_OPS)
    form = await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    editing = first(form, "editing") or None
    raw, errors = _spec_from_form(form)
    errors = errors or _validation_errors(raw)
    if not errors:
        try:
            saved, created, _ = campaigns.save_campaign_spec(
                services().db, merchant_id, raw, "campaign"
            )
        except MissingProducts as exc:
            errors = {"products": f"not in the catalog (or removed): {', '.join(exc.missing)}"}
        except AdreelError as exc:
            errors = {"campaign": str(exc).removeprefix("campaign: ")}
    if errors:
        return _editor(request, session, merchant_id, _values(raw), errors, editing, 422)
    notice = "created" if created else "saved"
    target = f"/merchants/{merchant_id}/campaigns/{saved.campaign}?notice={notice}"
    return RedirectResponse(target, status_code=303)


def _editor(request, session, merchant_id, values, errors, editing, status_code=200, **extra):
    products = catalog_products(services().db, merchant_id, "live")
    chosen = set(values["product_ids"])
    known = {p["id"] for p in products}
    return page(
        request,
        "staff_editor.html",
        session,
        status_code,
        merchant_id=merchant_id,
        values=values,
        errors=errors,
        editing=editing,
        products=products,
        # ids the file names that the catalog lacks stay visible (and are refused on save)
        unknown_ids=[i for i in values["product_ids"] if i not in known],
        chosen=chosen,
        options={
            "templates": [
                t
                for t in sorted(COMPOSER_OPTIONS["templates"][0])
                if composer_templates()[t].min_products == 1
            ],
            "formats": list(COMPOSER_OPTIONS["formats"][0]),
            "platforms": list(COMPOSER_OPTIONS["platforms"][0]),
            "durations": list(DURATIONS_S),
        },
        **extra,
    )


def _values(spec: dict[str, Any]) -> dict[str, Any]:
    """The campaign file's fields as the editor's form values (defaults where absent)."""
    defaults = CampaignSpec.model_fields
    products = spec.get("products") or {}
    price = products.get("price") or {}
    schedule = spec.get("schedule") or {}

    def listed(value, default):
        if value is None:
            return list(default)
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    return {
        "campaign": str(spec.get("campaign") or ""),
        "name": str(spec.get("name") or ""),
        "product_ids": listed(products.get("ids"), []),
        **{f: ", ".join(listed(products.get(f), [])) for f in LIST_FIELDS},
        "price_min": "" if price.get("min") is None else str(price["min"]),
        "price_max": "" if price.get("max") is None else str(price["max"]),
        "changed_only": bool(products.get("changed_only")),
        "templates": listed(spec.get("templates"), defaults["templates"].default),
        "formats": listed(spec.get("formats"), defaults["formats"].default),
        "platforms": listed(spec.get("platforms"), defaults["platforms"].default),
        "languages": ", ".join(listed(spec.get("languages"), defaults["languages"].default)),
        "variants": str(spec.get("variants", defaults["variants"].default)),
        "duration_s": str(spec.get("duration_s", defaults["duration_s"].default)),
        "token_budget": "" if spec.get("token_budget") is None else str(spec["token_budget"]),
        "cron": str(schedule.get("cron") or ""),
        "timezone": str(schedule.get("timezone") or "UTC"),
    }


def _spec_from_form(form: dict) -> tuple[dict[str, Any], dict[str, str]]:
    """The form as the campaign file's mapping; numbers that are not numbers are errors."""
    errors: dict[str, str] = {}

    def words(name: str) -> list[str]:
        return [w.strip() for w in first(form, name).split(",") if w.strip()]

    def number(name: str, field: str) -> int | None:
        text = first(form, name)
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            errors[field] = f"{text!r} is not a whole number"
            return None

    products: dict[str, Any] = {}
    ids = [v.strip() for v in form.get("product_ids", []) if str(v).strip()]
    if ids:
        products["ids"] = ids
    for field in LIST_FIELDS:
        if words(field):
            products[field] = words(field)
    price = {k: first(form, f"price_{k}") for k in ("min", "max") if first(form, f"price_{k}")}
    if price:
        products["price"] = price
    if first(form, "changed_only"):
        products["changed_only"] = True
    raw: dict[str, Any] = {"campaign": first(form, "campaign")}
    if first(form, "name"):
        raw["name"] = first(form, "name")
    if products:
        raw["products"] = products
    for field in ("templates", "formats", "platforms"):
        raw[field] = [str(v) for v in form.get(field, [])]
    raw["languages"] = words("languages")
    for name in ("variants", "duration_s", "token_budget"):
        value = number(name, name)
        if value is not None:
            raw[name] = value
    if first(form, "cron"):
        raw["schedule"] = {
            "cron": first(form, "cron"),
            "timezone": first(form, "timezone") or "UTC",
        }
    return raw, errors


def _validation_errors(raw: dict) -> dict[str, str]:
    """Every field the campaign file's model refuses, by the editor's field name."""
    try:
        CampaignSpec.model_validate(raw)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for error in exc.errors():
            loc = [str(part) for part in error["loc"]]
            field = loc[0] if loc else "form"
            if field == "products" and len(loc) > 1:
                field = "products" if loc[1] == "ids" else f"products.{loc[1]}"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown field {'.'.join(loc)}"
                field = "form"
            elif error["type"] == "too_short" and error["input"] == []:
                message = "choose at least one"
            errors.setdefault(field, message)
        return errors
    return {}


def _pruned(value: Any) -> Any:
    """A stored spec without its unset fields, as a person would write the file."""
    if isinstance(value, dict):
        return {
            k: _pruned(v)
            for k, v in value.items()
            if v is not None and v is not False and v != {} and _pruned(v) != {}
        }
    return value


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True) if value else ""


# --- one campaign: schedule, run now, runs -------------------------------------------


@router.get("/merchants/{merchant_id}/campaigns/{campaign_id}")
def campaign_page(request: Request, merchant_id: str, campaign_id: str):
    session, merchant_id = _merchant(request, merchant_id)
    return _campaign_view(request, session, merchant_id, campaign_id)


def _campaign_view(request, session, merchant_id, campaign_id, status_code=200, **extra):
    db = services().db
    status = campaigns.campaign_status(db, campaign_id, merchant_id)
    row = _saved(merchant_id, campaign_id)
    schedule = {"cron": row["cron"] or "", "timezone": row["timezone"] or "UTC"}
    schedule |= extra.pop("schedule_values", {})
    return page(
        request,
        "staff_campaign.html",
        session,
        status_code,
        merchant_id=merchant_id,
        campaign=status,
        listed=next(
            (
                c
                for c in campaigns.list_campaigns(db, merchant_id)
                if c["campaign_id"] == campaign_id
            ),
            None,
        ),
        progress=progress_of(status),
        schedule=schedule,
        wallet=billing.wallet(db, merchant_id),
        **extra,
    )


def progress_of(status: dict) -> dict:
    """How far the latest run is: previews and finals rendered of those planned."""
    materials = status["materials"]
    previews_done = sum(1 for m in materials if m["preview_status"] == "done")
    finals = [m for m in materials if m["final_status"] is not None]
    latest = status["runs"][0] if status["runs"] else None
    return {
        "status": latest["status"] if latest else None,
        "running": bool(latest and latest["status"] == "running"),
        "previews": {"done": previews_done, "planned": len(materials)},
        "finals": {
            "done": sum(1 for m in finals if m["final_status"] == "done"),
            "planned": len(finals),
        },
        "awaiting": sum(
            1 for m in materials if m["preview_asset_id"] and m["decision"] == "pending"
        ),
    }


@router.get("/merchants/{merchant_id}/campaigns/{campaign_id}/progress")
def campaign_progress(request: Request, merchant_id: str, campaign_id: str):
    """The run's progress and money for the page to poll (JSON)."""
    _session, merchant_id = _merchant(request, merchant_id)
    status = campaigns.campaign_status(services().db, campaign_id, merchant_id)

    def when(value):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else None

    runs = [
        {
            "run_id": r["run_id"],
            "status": r["status"],
            "started_at": when(r["started_at"]),
            "finished_at": when(r["finished_at"]),
            "money": r["money"],
        }
        for r in status["runs"]
    ]
    return JSONResponse(
        {
            **progress_of(status),
            "tokens_used": int(status["tokens_used"] or 0),
            "wallet_available": int(billing.wallet(services().db, merchant_id)["available"]),
            "runs": runs,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.post("/merchants/{merchant_id}/campaigns/{campaign_id}/run")
async def run_now(request: Request, merchant_id: str, campaign_id: str):
    """Start a run in the background, as `POST .../runs` does; the page follows it."""
    session = signed_in(request, *ACCOUNT_OPS)
    await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    start_campaign_run(services(), merchant_id, campaign_id, 0)
    target = f"/merchants/{merchant_id}/campaigns/{campaign_id}?notice=run-started"
    return RedirectResponse(target, status_code=303)


@router.post("/merchants/{merchant_id}/campaigns/{campaign_id}/schedule")
async def set_schedule(request: Request, merchant_id: str, campaign_id: str):
    session = signed_in(request, *ACCOUNT_OPS)
    form = await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    cron, zone = first(form, "cron") or None, first(form, "timezone") or "UTC"
    try:
        campaigns.set_schedule(services().db, campaign_id, cron, zone, merchant_id)
    except NotFound:
        raise
    except AdreelError as exc:
        return _campaign_view(
            request,
            session,
            merchant_id,
            campaign_id,
            422,
            schedule_error=str(exc),
            schedule_values={"cron": cron or "", "timezone": zone},
        )
    notice = "scheduled" if cron else "unscheduled"
    target = f"/merchants/{merchant_id}/campaigns/{campaign_id}?notice={notice}"
    return RedirectResponse(target, status_code=303)
