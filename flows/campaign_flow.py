"""``run_campaign``: plan, check the budget, render previews, wait for the merchant's
decisions, render the approved finals, deliver them, bill them.

Every step is keyed on its inputs in PostgreSQL (render jobs by content hash, holds by
job and attempt, charges by idempotency key), so a rerun of a finished or crashed run
skips what is done and charges nothing twice. One run per campaign at a time: a second
run started meanwhile is refused (``CampaignBusy``). Approval does not hold a worker:
with no decision yet the run ends as ``awaiting_approval``; after ``campaign approve``
the next run (scheduled, or ``campaign run``) picks up from there. ``approval_wait_s``
keeps the run polling for decisions for that long first, for someone watching.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
from prefect import flow, get_run_logger, task
from prefect.concurrency.sync import concurrency
from prefect.tasks import exponential_backoff

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
from campaigns.spec import CampaignSpec
from flows.progress import tracker
from storage.objects import StorageError
from storage.services import services

# Scheduled campaigns share the GPUs through this Prefect concurrency limit
# (`prefect gcl create adreel-gpu --limit N`; without it, renders are not limited).
GPU_LIMIT = "adreel-gpu"
APPROVAL_POLL_S = 2.0
PREVIEW_SHEET = "previews_pending.png"


def _transient(task, task_run, state) -> bool:
    """Retry faults of the database, object store or broker; never a user's mistake."""
    try:
        state.result()
    except (psycopg.OperationalError, StorageError, ConnectionError, TimeoutError):
        return True
    except Exception:
        return False
    return False


RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": _transient,
}


def load_campaign(campaign_id: str) -> tuple[dict, CampaignSpec]:
    with services().db.connection() as conn:
        campaign = rows.get_campaign(conn, campaign_id)
    return campaign, CampaignSpec.model_validate(campaign["spec"])


def billing_terms(merchant_id: str, spec: CampaignSpec, on: date) -> tuple[int, Contract]:
    """The contract in force; refuse up front when it cannot price what would be made."""
    with services().db.connection() as conn:
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


@task(**RETRIES)
def plan_previews(campaign_id: str) -> dict:
    """Select the products, plan one preview job per material, record the materials."""
    svc = services()
    campaign, spec = load_campaign(campaign_id)
    merchant_id = campaign["merchant_id"]
    with svc.db.connection() as conn, conn.transaction():
        since = rows.last_finished_run_start(conn, campaign_id)
        products = rows.select_products(conn, merchant_id, spec.products.query_params(since))
        materials = materials_in_priority(spec, products)
        hashes = plan_material_renders(
            conn,
            svc.settings.model,
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
    return {"merchant_id": merchant_id, "products": len(products), "previews": hashes}


@task(**RETRIES)
def render_stage(
    campaign_id: str, merchant_id: str, request_hashes: list[str], stage: str, bill_tokens: bool
) -> dict:
    """Render a stage's jobs within the campaign budget and the wallet."""
    svc = services()
    _, spec = load_campaign(campaign_id)
    budget_left = None
    if spec.token_budget is not None:
        with svc.db.connection() as conn:
            budget_left = spec.token_budget - rows.campaign_tokens_used(conn, campaign_id)
    progress = tracker(f"rendering {stage}s of {campaign_id}", total=len(request_hashes))
    with concurrency(GPU_LIMIT, occupy=1, strict=False):
        run = render_within_budget(
            svc, merchant_id, request_hashes, budget_left, bill_tokens, on_progress=progress
        )
    return run.as_dict()


@task
def await_decisions(campaign_id: str, wait_s: float) -> dict:
    """Poll for the merchant's decisions on rendered previews for up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        counts = decision_counts(campaign_id)
        if counts["pending"] == 0 or time.monotonic() >= deadline:
            return counts
        time.sleep(APPROVAL_POLL_S)


def decision_counts(campaign_id: str) -> dict:
    with services().db.connection() as conn:
        materials = rows.campaign_materials(conn, campaign_id)
    rendered = [m for m in materials if m["preview_asset_id"] is not None]
    counts = {"pending": 0, "approved": 0, "rejected": 0}
    for material in rendered:
        counts[material["decision"]] += 1
    return counts


@task(**RETRIES)
def plan_finals(campaign_id: str) -> list[str]:
    """A final job for each approved preview, same material at the final profile."""
    svc = services()
    campaign, spec = load_campaign(campaign_id)
    merchant_id = campaign["merchant_id"]
    with svc.db.connection() as conn, conn.transaction():
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
            svc.settings.model,
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


@task(**RETRIES)
def deliver(campaign_id: str, merchant_id: str, bill_raas: bool, out_dir: str) -> dict:
    """Mark rendered finals delivered, charge RaaS once each, write manifest and sheet."""
    svc = services()
    _, spec = load_campaign(campaign_id)
    with svc.db.connection() as conn, conn.transaction():
        finals = [
            m for m in rows.campaign_materials(conn, campaign_id) if m["final_status"] == "done"
        ]
        rows.mark_delivered(conn, campaign_id, [m["final_hash"] for m in finals])
        charged = 0
        if bill_raas:
            today = datetime.now(UTC).date()
            for material in finals:
                posted = charge_accepted_material(
                    conn,
                    merchant_id,
                    material["final_asset_id"],
                    material["format"],
                    spec.duration_s,
                    today,
                )
                charged += posted.created
    manifest = manifest_rows(finals, svc.store)
    directory = Path(out_dir)
    csv_path, json_path = write_manifest(manifest, directory)
    sheet = write_contact_sheet(finals, svc.store, directory / "contact_sheet.jpg")
    return {
        "delivered": len(finals),
        "raas_charged": charged,
        "manifest_csv": str(csv_path),
        "manifest_json": str(json_path),
        "contact_sheet": str(sheet) if sheet else None,
    }


@task(**RETRIES)
def review_sheet(campaign_id: str, out_dir: str) -> str | None:
    """The previews awaiting a decision as one PNG, beside the delivery, for review."""
    svc = services()
    campaign, _ = load_campaign(campaign_id)
    with svc.db.connection() as conn:
        previews = rows.campaign_previews(conn, campaign_id)
    path = Path(out_dir) / PREVIEW_SHEET
    if write_preview_sheet(campaign, previews, svc.store, path, "pending"):
        return str(path)
    path.unlink(missing_ok=True)  # an earlier run's sheet would show decided previews
    return None


def delivery_dir(campaign_id: str) -> Path:
    return services().settings.home / "campaigns" / campaign_id


@flow(name="run_campaign")
def run_campaign(campaign_id: str, approval_wait_s: float = 0, out_dir: str | None = None) -> dict:
    svc = services()
    campaign, spec = load_campaign(campaign_id)
    merchant_id = campaign["merchant_id"]
    with rows.campaign_lock(svc.db.url, campaign_id):
        with svc.db.connection() as conn:
            run = rows.start_run(conn, campaign_id)
        summary: dict = {"campaign_id": campaign_id, "merchant_id": merchant_id}
        try:
            summary.update(
                _run_steps(campaign_id, merchant_id, spec, approval_wait_s, out_dir, summary)
            )
        except Exception as exc:
            summary["error"] = str(exc)
            with svc.db.connection() as conn:
                rows.finish_run(conn, run["run_id"], "failed", summary)
            raise
        with svc.db.connection() as conn:
            rows.finish_run(conn, run["run_id"], summary["status"], summary)
    get_run_logger().info("campaign %s: %s", campaign_id, summary["status"])
    return summary


def _run_steps(
    campaign_id: str,
    merchant_id: str,
    spec: CampaignSpec,
    approval_wait_s: float,
    out_dir: str | None,
    summary: dict,
) -> dict:
    # 1. The contract in force prices what this run makes, or the run stops here.
    version, contract = billing_terms(merchant_id, spec, datetime.now(UTC).date())
    bill_tokens = "tokens" in contract.modes
    summary["contract_version"] = version
    # 2. Select products and plan one preview per material, by content hash.
    planned = plan_previews(campaign_id)
    summary["products"] = planned["products"]
    # 3. Render previews within the token budget and the wallet, in priority order.
    summary["previews"] = render_stage(
        campaign_id, merchant_id, planned["previews"], "preview", bill_tokens
    )
    # 4. The merchant's decisions (waiting up to approval_wait_s for them).
    summary["decisions"] = await_decisions(campaign_id, approval_wait_s)
    # 5. Finals for approved previews only.
    finals = plan_finals(campaign_id)
    summary["finals"] = render_stage(campaign_id, merchant_id, finals, "final", bill_tokens)
    # 6. Deliver: mark, bill RaaS once per material, write the manifest and contact sheet.
    target = out_dir or str(delivery_dir(campaign_id))
    summary["delivery"] = deliver(campaign_id, merchant_id, "raas" in contract.modes, target)
    pending = summary["decisions"]["pending"]
    summary["status"] = "awaiting_approval" if pending else "delivered"
    # 7. A contact sheet of the previews still awaiting a decision, for the review.
    summary["preview_sheet"] = review_sheet(campaign_id, target)
    return summary
