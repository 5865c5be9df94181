"""What account managers and merchants do with campaigns, one function per operation.

The CLI and the HTTP API call these (the Prefect flow in ``flows.campaign_flow`` runs
the campaign itself): each takes plain values, owns its transaction and raises
``AdreelError`` subclasses with one line a person can act on.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg

from campaigns import records as rows
from campaigns.queries import query
from campaigns.spec import (
    CampaignSpec,
    campaign_from_dict,
    check_cron,
    check_timezone,
    next_run,
    parse_campaign_file,
)
from catalog.products import catalog_products, list_products
from generation.delivery import material_file_name, merchant_assets
from storage.db import Database
from storage.errors import AdreelError, NotFound
from storage.merchants import require_merchant
from storage.services import Services

MATERIAL_FIELDS = (
    "product_id",
    "template",
    "format",
    "locale",
    "variant",
    "preview_status",
    "preview_asset_id",
    "decision",
    "reason",
    "final_status",
    "final_asset_id",
    "delivered_at",
    # the visual check: passed, qa_failed (with its reasons; not delivered) or unchecked
    "preview_qa_status",
    "preview_qa_reasons",
    "final_qa_status",
    "final_qa_reasons",
)


class MissingProducts(AdreelError):
    """A campaign file lists product ids the merchant's catalog does not have (live)."""

    def __init__(self, path: Path | str, merchant_id: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(
            f"{path}: products.ids: not in {merchant_id}'s catalog (or removed): "
            f"{', '.join(missing)}; correct them, or pass --allow-missing to save the "
            "campaign without them"
        )


class UnknownCampaign(NotFound):
    """No such campaign, or (asked for a merchant) another merchant's: both read alike."""

    def __init__(self, campaign_id: str) -> None:
        super().__init__(f"no campaign {campaign_id!r}; `adreel campaign list` shows them")


def campaign_of(conn, campaign_id: str, merchant_id: str | None = None) -> dict:
    """The campaign row; UnknownCampaign if missing or (``merchant_id`` given) not its."""
    try:
        campaign = rows.get_campaign(conn, campaign_id)
    except AdreelError:
        raise UnknownCampaign(campaign_id) from None
    if merchant_id is not None and campaign["merchant_id"] != merchant_id:
        raise UnknownCampaign(campaign_id)
    return campaign


def missing_product_ids(conn, merchant_id: str, product_ids: list[str] | None) -> list[str]:
    """The ids a campaign lists that are not live products of the merchant, in order."""
    if not product_ids:
        return []
    live = {
        p["product_id"]
        for p in list_products(conn, merchant_id, product_ids)
        if p["removed_at"] is None
    }
    return [product_id for product_id in product_ids if product_id not in live]


def save_campaign(
    db: Database, merchant_id: str, path: Path, allow_missing: bool = False
) -> tuple[CampaignSpec, bool, list[str]]:
    """Validate a campaign file and save it (again: replaces it). Returns the spec, True if
    it is new, and the product ids it lists that the catalog lacks: refused unless
    ``allow_missing`` (then ``campaign status`` keeps reporting them)."""
    return _save(db, merchant_id, parse_campaign_file(path), path, allow_missing)


def save_campaign_spec(
    db: Database, merchant_id: str, raw: dict, source: str, allow_missing: bool = False
) -> tuple[CampaignSpec, bool, list[str]]:
    """``save_campaign`` for a campaign given as a mapping (the API's JSON body, the same
    schema as the YAML file); errors name ``source`` and the field."""
    return _save(db, merchant_id, campaign_from_dict(raw, source), source, allow_missing)


def _save(
    db: Database, merchant_id: str, spec: CampaignSpec, source, allow_missing: bool
) -> tuple[CampaignSpec, bool, list[str]]:
    with db.connection() as conn, conn.transaction():
        require_merchant(conn, merchant_id)
        missing = missing_product_ids(conn, merchant_id, spec.products.ids)
        if missing and not allow_missing:
            raise MissingProducts(source, merchant_id, missing)
        created = rows.save_campaign(conn, spec.campaign, merchant_id, spec.model_dump(mode="json"))
        if spec.schedule:
            rows.set_schedule(conn, spec.campaign, spec.schedule.cron, spec.schedule.timezone)
    return spec, created, missing


def schedule_text(campaign: dict) -> str:
    return f"{campaign['cron']} ({campaign['timezone']})" if campaign["cron"] else "on demand"


def list_campaigns(db: Database, merchant_id: str | None = None) -> list[dict]:
    """Campaigns with their schedule, next run, last run and the number of previews
    awaiting review (one query for them all)."""
    with db.connection() as conn:
        found = rows.list_campaigns(conn, merchant_id)
    return [
        {
            "campaign_id": c["campaign_id"],
            "merchant_id": c["merchant_id"],
            "schedule": schedule_text(c),
            "next_run": next_run(c["cron"], c["timezone"]) if c["cron"] else None,
            "last_status": c["last_status"],
            "last_started_at": c["last_started_at"],
            "awaiting_review": c["awaiting_review"],
        }
        for c in found
    ]


def set_schedule(
    db: Database,
    campaign_id: str,
    cron: str | None,
    timezone: str = "UTC",
    merchant_id: str | None = None,
):
    """Run the campaign on ``cron`` in ``timezone``; ``cron`` None removes the schedule.
    Returns the next run, if scheduled. ``merchant_id``: only that merchant's campaign."""
    if cron:
        try:
            check_cron(cron)
            check_timezone(timezone)
        except ValueError as exc:
            raise AdreelError(str(exc)) from None
    with db.connection() as conn:
        if merchant_id is not None:
            campaign_of(conn, campaign_id, merchant_id)
        rows.set_schedule(conn, campaign_id, cron, timezone if cron else None)
    return next_run(cron, timezone) if cron else None


def campaign_status(db: Database, campaign_id: str, merchant_id: str | None = None) -> dict:
    """Every material (preview, decision, final, delivery), the budget and recent runs.
    ``merchant_id``: only that merchant's campaign (another's reads as missing)."""
    with db.connection() as conn:
        campaign = campaign_of(conn, campaign_id, merchant_id)
        materials = rows.campaign_materials(conn, campaign_id)
        runs = rows.recent_runs(conn, campaign_id)
        used = rows.campaign_tokens_used(conn, campaign_id)
        listed = (campaign["spec"].get("products") or {}).get("ids")
        missing = missing_product_ids(conn, campaign["merchant_id"], listed)
    return _status(campaign_id, campaign, materials, runs, used, missing)


async def campaign_status_async(
    conn: psycopg.AsyncConnection, campaign_id: str, merchant_id: str | None = None
) -> dict:
    """``campaign_status`` with its queries pipelined into one round trip, for the HTTP
    API's status endpoint (dashboards poll it; BENCHMARKS.md, api)."""
    names = ("campaign_status_head", "campaign_materials", "campaign_runs")
    params = {"campaign_id": campaign_id}
    async with conn.pipeline():
        cursors = [await conn.execute(query(name), params) for name in names]
    campaign = await cursors[0].fetchone()
    if campaign is None or merchant_id not in (None, campaign["merchant_id"]):
        raise UnknownCampaign(campaign_id)
    materials, runs = await cursors[1].fetchall(), await cursors[2].fetchall()
    live = set(campaign["live_listed"])
    listed = (campaign["spec"].get("products") or {}).get("ids") or []
    missing = [product_id for product_id in listed if product_id not in live]
    used = campaign["tokens_used"]
    return _status(campaign_id, campaign, materials, runs, used, missing)


def _status(
    campaign_id: str,
    campaign: dict,
    materials: list[dict],
    runs: list[dict],
    used: int,
    missing: list[str],
) -> dict:
    return {
        "campaign_id": campaign_id,
        "merchant_id": campaign["merchant_id"],
        "schedule": schedule_text(campaign),
        "tokens_used": used,
        "token_budget": campaign["spec"].get("token_budget"),
        "materials": [{key: m[key] for key in MATERIAL_FIELDS} for m in materials],
        "runs": [
            {
                **{k: r[k] for k in ("run_id", "status", "started_at", "finished_at")},
                "money": run_money(r["summary"] or {}),
            }
            for r in runs
        ],
        "not_rendered": _not_rendered(runs[0]["summary"]) if runs else [],
        # finals held back from delivery by the visual check, and why
        "qa_failed": [
            {
                "product_id": m["product_id"],
                "format": m["format"],
                "stage": stage,
                "reasons": m[f"{stage}_qa_reasons"],
            }
            for m in materials
            for stage in ("preview", "final")
            if m[f"{stage}_qa_status"] == "qa_failed"
        ],
        # ids the campaign file lists that the catalog lacks (saved with --allow-missing)
        "missing_products": missing,
    }


def run_money(summary: dict) -> dict:
    """What a run cost the merchant: tokens its new renders drew from the wallet, their
    prepaid value, and the RaaS charges for finals it delivered (amounts as strings)."""
    stages = [summary.get(stage) or {} for stage in ("previews", "finals")]
    value: dict[str, Decimal] = {}
    for stage in stages:
        for currency, amount in stage.get("token_value", {}).items():
            value[currency] = value.get(currency, Decimal(0)) + Decimal(amount)
    delivery = summary.get("delivery") or {}
    return {
        "tokens": sum(stage.get("tokens", 0) for stage in stages),
        "token_value": {currency: str(amount) for currency, amount in sorted(value.items())},
        "raas_charged": delivery.get("raas_charged", 0),
        "raas_amount": delivery.get("raas_amount", {}),
    }


def _not_rendered(summary: dict) -> list[dict]:
    return [
        item
        for stage in ("previews", "finals")
        for item in (summary.get(stage) or {}).get("not_rendered", [])
    ]


def preview_sheet(services: Services, campaign_id: str, out: Path, decision: str | None) -> int:
    """Write a PNG of the campaign's preview posters (only ``decision``'s, if given);
    returns how many it shows."""
    from campaigns.delivery import write_preview_sheet  # Pillow, only when drawing

    with services.db.connection() as conn:
        campaign = rows.get_campaign(conn, campaign_id)
        previews = rows.campaign_previews(conn, campaign_id)
    if not previews:
        raise AdreelError(
            f"campaign {campaign_id} has no previews yet; `adreel campaign run {campaign_id}` "
            "renders them"
        )
    shown = write_preview_sheet(campaign, previews, services.store, out, decision)
    if not shown:
        raise AdreelError(
            f"campaign {campaign_id} has no {decision} previews (of {len(previews)}); "
            "nothing written"
        )
    return shown


def decide(
    db: Database,
    campaign_id: str,
    decision: str,
    asset_ids: list[int] | None,
    reason: str | None = None,
    merchant_id: str | None = None,
) -> list[int]:
    """Approve or reject previews (``asset_ids`` None: every preview awaiting a decision).
    All or nothing: an id that is not such a preview changes nothing and is named.
    ``merchant_id``: only that merchant's campaign (another's reads as missing)."""
    with db.connection() as conn, conn.transaction():
        campaign_of(conn, campaign_id, merchant_id)
        applied = rows.decide(conn, campaign_id, decision, asset_ids, reason)
        unknown = sorted(set(asset_ids or []) - set(applied))
        if unknown:
            raise AdreelError(
                f"campaign {campaign_id}: {', '.join(map(str, unknown))} "
                "not previews of this campaign awaiting a decision (delivered finals cannot "
                "change); nothing was changed"
            )
    return applied


def scheduled_campaigns(db: Database) -> list[dict]:
    """Campaigns with a schedule: id, merchant, cron and time zone (for deployments)."""
    with db.connection() as conn:
        return rows.scheduled_campaigns(conn)


def material_links(
    services: Services, campaign_id: str, merchant_id: str, expires_s: int
) -> list[dict]:
    """The campaign's materials (as in ``campaign_status``), each with presigned links
    to what its preview and its final stored (video, poster, thumbnail), by kind."""
    materials = campaign_status(services.db, campaign_id, merchant_id)["materials"]
    assets = merchant_assets(services, merchant_id, campaign_id)
    render_of = {a["asset_id"]: a["request_hash"] for a in assets}
    by_render: dict[str, dict[str, dict]] = {}
    for asset in assets:
        by_render.setdefault(asset["request_hash"], {})[asset["kind"]] = asset
    for material in materials:
        for stage in ("preview", "final"):
            stored = by_render.get(render_of.get(material[f"{stage}_asset_id"]), {})
            material[f"{stage}_links"] = {
                kind: {
                    "asset_id": asset["asset_id"],
                    "url": services.store.url(
                        asset["object_key"], expires_s, download_name=material_file_name(asset)
                    ),
                }
                for kind, asset in stored.items()
            }
    return materials


def asset_product_names(services: Services, merchant_id: str) -> dict[int, str]:
    """Each of the merchant's ads named by its product, "Title (id)": how statements and
    their charts name the ads that earned GMV (billing knows assets only by id)."""
    titles = {p["id"]: p["title"] for p in catalog_products(services.db, merchant_id)}
    return {
        asset["asset_id"]: f"{titles.get(asset['product_id']) or asset['product_id']} "
        f"({asset['product_id']})"
        for asset in merchant_assets(services, merchant_id)
        if asset.get("product_id")
    }
