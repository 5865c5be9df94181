"""``adreel campaign``: account managers set up, schedule and run campaigns; merchants
approve or reject previews."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campaigns import service as campaigns
from campaigns.service import run_money
from flows.cli.output import emit_json, emit_table, status
from flows.progress import progress_bars
from flows.services import configure_prefect, preflight
from storage.errors import AdreelError
from storage.services import services
from storage.settings import get_settings


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns: which products become which ads, on what schedule, within what budget."""


@campaign_group.command("create")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--file", "path", required=True, type=click.Path(path_type=Path), help="YAML.")
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Save even if products.ids lists ids the catalog lacks (`campaign status` names them).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create_command(merchant: str, path: Path, allow_missing: bool, as_json: bool) -> None:
    """Validate a campaign file and save it (saving it again replaces the file).

    Product ids the merchant's catalog lacks are refused, naming them, unless
    --allow-missing.
    """
    spec, created, missing = campaigns.save_campaign(services().db, merchant, path, allow_missing)
    if as_json:
        emit_json(
            {
                "campaign_id": spec.campaign,
                "merchant_id": merchant,
                "created": created,
                "missing_products": missing,
            }
        )
        return
    verb = "created" if created else "updated"
    status(f"campaign {spec.campaign} of {merchant} {verb}")
    if missing:
        status(f"not in the catalog, left out until uploaded: {', '.join(missing)}")


@campaign_group.command("list")
@click.option("--merchant", help="Only this merchant's campaigns.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(merchant: str | None, as_json: bool) -> None:
    """Campaigns with their schedule and last run."""
    listed = campaigns.list_campaigns(services().db, merchant)
    if as_json:
        emit_json({"campaigns": listed})
        return
    emit_table(
        "Campaigns",
        ["campaign", "merchant", "schedule", "next run", "last run", "status"],
        [
            (
                c["campaign_id"],
                c["merchant_id"],
                c["schedule"],
                c["next_run"].isoformat(timespec="minutes") if c["next_run"] else "",
                c["last_started_at"].isoformat(timespec="seconds") if c["last_started_at"] else "",
                c["last_status"] or "never run",
            )
            for c in listed
        ],
    )


@campaign_group.command("schedule")
@click.argument("campaign_id")
@click.option("--cron", help='Cron expression, e.g. "0 6 * * 1" (Mondays 06:00).')
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--off", is_flag=True, help="Remove the schedule.")
def schedule_command(campaign_id: str, cron: str | None, timezone: str, off: bool) -> None:
    """Run a campaign on a schedule (served by `adreel serve`)."""
    if off == bool(cron):
        raise click.UsageError("give --cron or --off")
    first = campaigns.set_schedule(services().db, campaign_id, cron, timezone)
    if off:
        status(f"campaign {campaign_id}: schedule removed")
    else:
        first_run = first.isoformat(timespec="minutes")
        status(f"campaign {campaign_id}: {cron} ({timezone}); next run {first_run}")


@campaign_group.command("run")
@click.argument("campaign_id")
@click.option(
    "--wait-approval",
    "wait_s",
    type=click.FloatRange(min=0),
    default=0,
    help="Seconds to wait for decisions on new previews before ending the run.",
)
@click.option("--out", type=click.Path(path_type=Path), help="Delivery folder.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def run_command(campaign_id: str, wait_s: float, out: Path | None, as_json: bool) -> None:
    """Run a campaign now: previews, then finals of approved previews, then delivery."""
    settings = get_settings()
    configure_prefect(settings)
    preflight(settings)
    from flows.campaign_flow import run_campaign

    with progress_bars(enabled=not as_json and sys.stderr.isatty()):
        summary = run_campaign(
            campaign_id=campaign_id, approval_wait_s=wait_s, out_dir=str(out) if out else None
        )
    if as_json:
        emit_json(summary)
        return
    _print_run(summary)


def money_text(money: dict) -> str:
    def amounts(by_currency: dict) -> str:
        return " + ".join(f"{amount} {currency}" for currency, amount in by_currency.items())

    tokens = f"{money['tokens']} tokens" + (
        f" ({amounts(money['token_value'])})" if money["token_value"] else ""
    )
    raas = f"{money['raas_charged']} RaaS charge(s)" + (
        f" ({amounts(money['raas_amount'])})" if money["raas_amount"] else ""
    )
    return f"{tokens}, {raas}"


def _print_run(summary: dict) -> None:
    previews, finals, delivery = summary["previews"], summary["finals"], summary["delivery"]
    for stage, run in (("preview", previews), ("final", finals)):
        for item in run["not_rendered"]:
            status(f"not rendered ({stage}): {item['product_id']}: {item['reason']}")
        for item in run["failed"]:
            status(f"failed ({stage}): {item['product_id']}: {item['error']}")
        for item in run.get("warnings", []):
            status(f"warning ({stage}): {item['product_id']}: {item['warning']}")
    decisions = summary["decisions"]
    status(
        f"campaign {summary['campaign_id']}: {summary['products']} products; previews "
        f"{previews['rendered']} new, {previews['reused']} reused; decisions: "
        f"{decisions['approved']} approved, {decisions['rejected']} rejected, "
        f"{decisions['pending']} waiting; finals {finals['rendered']} new; "
        f"{delivery['delivered']} delivered ({delivery['manifest_csv']})"
    )
    if summary.get("missing_products"):
        missing = ", ".join(summary["missing_products"])
        status(f"not in the catalog, so not in this run: {missing}")
    status(f"cost of this run: {money_text(run_money(summary))}")
    if summary.get("preview_sheet"):
        status(f"previews to review: {summary['preview_sheet']}")
    status(f"status: {summary['status']}")


@campaign_group.command("status")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(campaign_id: str, as_json: bool) -> None:
    """Every material: preview, decision, final, delivery; budget and recent runs."""
    report = campaigns.campaign_status(services().db, campaign_id)
    runs = report["runs"]
    if as_json:
        emit_json(report)
        return
    emit_table(
        f"Campaign {campaign_id} of {report['merchant_id']}",
        ["product", "format", "lang", "var", "preview", "decision", "final", "delivered"],
        [
            (
                m["product_id"],
                m["format"],
                m["locale"],
                m["variant"],
                m["preview_asset_id"] or m["preview_status"],
                m["decision"] + (f": {m['reason']}" if m["reason"] else ""),
                m["final_asset_id"] or (m["final_status"] or ""),
                m["delivered_at"].date() if m["delivered_at"] else "",
            )
            for m in report["materials"]
        ],
    )
    for item in report["not_rendered"]:
        status(f"not rendered in the last run: {item['product_id']}: {item['reason']}")
    for item in report["qa_failed"]:
        held = " (not delivered)" if item["stage"] == "final" else ""
        status(
            f"failed its visual check ({item['stage']}{held}): {item['product_id']} "
            f"{item['format']}: {'; '.join(item['reasons'])}"
        )
    if report["missing_products"]:
        status(f"listed but not in the catalog: {', '.join(report['missing_products'])}")
    budget = report["token_budget"]
    status(
        f"tokens used {report['tokens_used']}"
        + (f" of a budget of {budget}" if budget else "")
        + (f"; last run: {runs[0]['status']}" if runs else "; never run")
    )
    for run in runs:
        status(f"run {run['run_id']} ({run['status']}): {money_text(run['money'])}")


@campaign_group.command("contact-sheet")
@click.argument("campaign_id")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG file to write.",
)
@click.option(
    "--status",
    "decision",
    type=click.Choice(["pending", "approved", "rejected", "all"]),
    default="all",
    show_default=True,
    help="Only previews with this decision.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def contact_sheet_command(campaign_id: str, out: Path, decision: str, as_json: bool) -> None:
    """A PNG of the campaign's preview posters, each labelled with product, template,
    format, language, variant and decision, for review before approving."""
    only = None if decision == "all" else decision
    shown = campaigns.preview_sheet(services(), campaign_id, out, only)
    if as_json:
        emit_json(
            {"campaign_id": campaign_id, "path": str(out), "count": shown, "status": decision}
        )
        return
    status(f"campaign {campaign_id}: {shown} previews ({decision}) on {out}")


@campaign_group.command("approve")
@click.argument("campaign_id")
@click.option("--assets", "asset_list", help="Preview video asset ids, comma-separated.")
@click.option("--all", "everything", is_flag=True, help="Every preview not yet delivered.")
def approve_command(campaign_id: str, asset_list: str | None, everything: bool) -> None:
    """Approve previews: the next run renders their finals."""
    applied = _decide(campaign_id, "approved", asset_list, everything, None)
    status(
        f"campaign {campaign_id}: {len(applied)} previews approved; `adreel campaign run "
        f"{campaign_id}` renders their finals"
    )


@campaign_group.command("reject")
@click.argument("campaign_id")
@click.option("--assets", "asset_list", help="Preview video asset ids, comma-separated.")
@click.option("--all", "everything", is_flag=True, help="Every preview not yet delivered.")
@click.option("--reason", required=True, help="Why, for the account manager.")
def reject_command(campaign_id: str, asset_list: str | None, everything: bool, reason: str) -> None:
    """Reject previews: no final is rendered or charged for them."""
    applied = _decide(campaign_id, "rejected", asset_list, everything, reason)
    status(f"campaign {campaign_id}: {len(applied)} previews rejected")


def _decide(
    campaign_id: str, decision: str, asset_list: str | None, everything: bool, reason: str | None
) -> list[int]:
    if everything == bool(asset_list):
        raise click.UsageError("give --assets A1,A2 or --all")
    asset_ids = None if everything else _asset_ids(asset_list)
    return campaigns.decide(services().db, campaign_id, decision, asset_ids, reason)


def _asset_ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise AdreelError(f"--assets {text!r}: asset ids are numbers, e.g. 12,13") from None


def register(cli: click.Group) -> None:
    cli.add_command(campaign_group)
