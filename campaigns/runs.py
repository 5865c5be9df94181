"""A campaign run's steps, each keyed on its inputs in PostgreSQL so a rerun skips what
is done: plan previews, render a stage within budget, plan finals for approved
previews, deliver and bill, draw the review sheet, record the run.

``flows.campaign_flow`` sequences these as Prefect tasks (retries, the GPU limit);
each function takes the services bundle and ids and owns its transactions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from billing.charges import charge_accepted_material
from billing.contracts import Contract, contract_at
from campaigns import records as rows
from campaigns.budget import render_within_budget
from campaigns.delivery import (
    manifest_rows,
    write_contact_sheet,
    write_manifest,
    write_preview_sheet,
)
from campaigns.planning import Material, plan_material_renders
from campaigns.service import missing_product_ids
from campaigns.spec import CampaignSpec
from generation.jobs import get_render_jobs
from generation.motion import MOTION_MODEL_NAME
from storage.db import Database
from storage.services import Services
from storage.webhooks import queue_event

PREVIEW_SHEET = "previews_pending.png"


def load_campaign(db: Database, campaign_id: str) -> tuple[dict, CampaignSpec]:
    with db.connection() as conn:
        campaign = rows.get_campaign(conn, campaign_id)
    return campaign, CampaignSpec.model_validate(campaign["spec"])


def billing_terms(
    db: Database, merchant_id: str, spec: CampaignSpec, on: date
) -> tuple[int, Contract]:
    """The contract in force; refuse up front when it cannot price what would be made."""
    with db.connection() as conn:
        version, contract = contract_at(conn, merchant_id, on)
    if "raas" in contract.modes:
        for ad_format in spec.formats:
            contract.raas_price(ad_format, spec.duration_s)  # raises naming what is missing
    return version, contract


def materials_in_priority(spec: CampaignSpec, products: list[dict]) -> list[Material]:
    """Priority: every product's first variant before any second one; then the order of
    the campaign's product list (or product id), languages, templates and formats."""
    order = {pid: i for i, pid in enumerate(spec.products.ids or [])}
    ranked = sorted(products, key=lambda p: (order.get(p["product_id"], 0), p["product_id"]))
    return [
        Material(product["product_id"], template, ad_format, variant, locale)
        for variant in range(spec.variants)
        for product in ranked
        for locale in spec.languages
        for template in spec.templates
        for ad_format in spec.formats
    ]


def plan_previews(services: Services, campaign_id: str) -> dict:
    """Select the products, plan one preview job per material, record the materials."""
    campaign, spec = load_campaign(services.db, campaign_id)
    merchant_id = campaign["merchant_id"]
    with services.db.connection() as conn, conn.transaction():
        since = rows.last_finished_run_start(conn, campaign_id)
        products = rows.select_products(conn, merchant_id, spec.products.query_params(since))
        missing = missing_product_ids(conn, merchant_id, spec.products.ids)
        materials = materials_in_priority(spec, products)
        hashes = plan_material_renders(
            conn,
            services.settings.model,
            merchant_id,
            {p["product_id"]: p for p in products},
            materials,
            "preview",
            spec.duration_s,
            campaign_id,
            tuple(spec.platforms),
        )
        rows.upsert_materials(
            conn,
            [
                {
                    "campaign_id": campaign_id,
                    "product_id": m.product_id,
                    "template": m.template,
                    "format": m.ad_format,
                    "variant": m.variant,
                    "locale": m.locale,
                    "priority": priority,
                    "preview_hash": h,
                }
                for priority, (m, h) in enumerate(zip(materials, hashes, strict=True))
            ],
        )
    return {
        "merchant_id": merchant_id,
        "products": len(products),
        "previews": hashes,
        "missing_products": missing,  # listed by the campaign file, not in the catalog
    }


def render_stage(
    services: Services,
    campaign_id: str,
    merchant_id: str,
    request_hashes: list[str],
    bill_tokens: bool,
    on_progress: Callable[[int], None] | None = None,
) -> dict:
    """Render a stage's jobs within what is left of the campaign budget and the wallet."""
    _, spec = load_campaign(services.db, campaign_id)
    budget_left = None
    if spec.token_budget is not None:
        with services.db.connection() as conn:
            budget_left = spec.token_budget - rows.campaign_tokens_used(conn, campaign_id)
    run = render_within_budget(
        services, merchant_id, request_hashes, budget_left, bill_tokens, on_progress=on_progress
    )
    return run.as_dict()


def decision_counts(db: Database, campaign_id: str) -> dict:
    """Rendered previews by decision: pending, approved, rejected."""
    with db.connection() as conn:
        materials = rows.campaign_materials(conn, campaign_id)
    rendered = [m for m in materials if m["preview_asset_id"] is not None]
    counts = {"pending": 0, "approved": 0, "rejected": 0}
    for material in rendered:
        counts[material["decision"]] += 1
    return counts


def plan_finals(services: Services, campaign_id: str) -> list[str]:
    """A final job for each approved preview, same material at the final profile."""
    campaign, spec = load_campaign(services.db, campaign_id)
    merchant_id = campaign["merchant_id"]
    with services.db.connection() as conn, conn.transaction():
        approved = [
            m
            for m in rows.campaign_materials(conn, campaign_id)
            if m["decision"] == "approved" and m["preview_status"] == "done"
        ]
        if not approved:
            return []
        products = {
            p["product_id"]: p
            for p in rows.select_products(
                conn, merchant_id, {"product_ids": [m["product_id"] for m in approved]}
            )
        }
        approved = [m for m in approved if m["product_id"] in products]
        materials = [
            Material(m["product_id"], m["template"], m["format"], m["variant"], m["locale"])
            for m in approved
        ]
        hashes = plan_material_renders(
            conn,
            services.settings.model,
            merchant_id,
            products,
            materials,
            "final",
            spec.duration_s,
            campaign_id,
            tuple(spec.platforms),
        )
        for material, final_hash in zip(approved, hashes, strict=True):
            rows.set_final_hash(conn, campaign_id, material["preview_hash"], final_hash)
    return hashes


def deliver(
    services: Services, campaign_id: str, merchant_id: str, bill_raas: bool, out_dir: str
) -> dict:
    """Mark rendered finals delivered, charge RaaS once each, write manifest and sheet.
    A final that failed its visual check is not delivered (``campaign status`` says why)."""
    _, spec = load_campaign(services.db, campaign_id)
    with services.db.connection() as conn, conn.transaction():
        finals = [
            m
            for m in rows.campaign_materials(conn, campaign_id)
            if m["final_status"] == "done" and m["final_qa_status"] != "qa_failed"
        ]
        rows.mark_delivered(conn, campaign_id, [m["final_hash"] for m in finals])
        charged, amounts = 0, Counter()
        if bill_raas:
            today = datetime.now(UTC).date()
            _, contract = contract_at(conn, merchant_id, today)
            # a final the CPU tier rendered is charged at the contract's motion share
            models = {
                j["request_hash"]: j["model"]
                for j in get_render_jobs(conn, [m["final_hash"] for m in finals])
            }
            for material in finals:
                motion = models.get(material["final_hash"]) == MOTION_MODEL_NAME
                posted = charge_accepted_material(
                    conn,
                    merchant_id,
                    material["final_asset_id"],
                    material["format"],
                    spec.duration_s,
                    today,
                    motion,
                )
                if posted.created:
                    charged += 1
                    price = contract.raas_price(material["format"], spec.duration_s, motion)
                    amounts[contract.currency] += price
    manifest = manifest_rows(finals, services.store)
    directory = Path(out_dir)
    csv_path, json_path = write_manifest(manifest, directory)
    sheet = write_contact_sheet(finals, services.store, directory / "contact_sheet.jpg")
    return {
        "delivered": len(finals),
        "raas_charged": charged,
        "raas_amount": {currency: str(amount) for currency, amount in sorted(amounts.items())},
        "manifest_csv": str(csv_path),
        "manifest_json": str(json_path),
        "contact_sheet": str(sheet) if sheet else None,
    }


def review_sheet(services: Services, campaign_id: str, out_dir: str) -> str | None:
    """The previews awaiting a decision as one PNG, beside the delivery, for review."""
    campaign, _ = load_campaign(services.db, campaign_id)
    with services.db.connection() as conn:
        previews = rows.campaign_previews(conn, campaign_id)
    path = Path(out_dir) / PREVIEW_SHEET
    if write_preview_sheet(campaign, previews, services.store, path, "pending"):
        return str(path)
    path.unlink(missing_ok=True)  # an earlier run's sheet would show decided previews
    return None


def delivery_dir(services: Services, campaign_id: str) -> Path:
    return services.settings.home / "campaigns" / campaign_id


@contextmanager
def recorded_run(services: Services, campaign_id: str) -> Iterator[dict]:
    """One run of the campaign at a time (``CampaignBusy`` otherwise), recorded with its
    summary: the caller fills the summary it yields, and sets ``status``; an exception
    records the run as failed and goes on."""
    db = services.db
    campaign, _ = load_campaign(db, campaign_id)
    with rows.campaign_lock(db.url, campaign_id):
        with db.connection() as conn:
            run = rows.start_run(conn, campaign_id)
        summary: dict = {"campaign_id": campaign_id, "merchant_id": campaign["merchant_id"]}
        try:
            yield summary
        except Exception as exc:
            summary["error"] = str(exc)
            with db.connection() as conn:
                rows.finish_run(conn, run["run_id"], "failed", summary)
            raise
        with db.connection() as conn, conn.transaction():
            rows.finish_run(conn, run["run_id"], summary["status"], summary)
            _queue_run_events(conn, campaign_id, run["run_id"], summary)


def _queue_run_events(conn, campaign_id: str, run_id: int, summary: dict) -> None:
    """Webhooks for what a run made, queued with its record: the same for runs started
    from the CLI, the API or a schedule. Each run that made something says so once."""
    merchant_id, cause = summary["merchant_id"], f"{campaign_id}:run-{run_id}"
    rendered = (summary.get("previews") or {}).get("rendered")
    if rendered:
        data = {"campaign_id": campaign_id, "rendered": rendered}
        queue_event(conn, merchant_id, "previews.ready", cause, data)
    delivered = (summary.get("delivery") or {}).get("delivered")
    if delivered:
        data = {"campaign_id": campaign_id, "delivered": delivered}
        queue_event(conn, merchant_id, "finals.delivered", cause, data)
