"""``adreel campaign``: account managers set up, schedule and run campaigns; merchants
approve or reject previews."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from campaigns import records as rows
from campaigns.spec import check_cron, check_timezone, next_run, parse_campaign_file
from flows.cli.output import emit_json, emit_table, status
from flows.progress import progress_bars
from flows.services import configure_prefect, preflight
from storage.errors import AdreelError
from storage.merchants import list_merchant_ids
from storage.services import services
from storage.settings import get_settings


@click.group("campaign")
def campaign_group() -> None:
    """Campaigns: which products become which ads, on what schedule, within what budget."""


@campaign_group.command("create")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--file", "path", required=True, type=click.Path(path_type=Path), help="YAML.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create_command(merchant: str, path: Path, as_json: bool) -> None:
    """Validate a campaign file and save it (saving it again replaces the file)."""
    spec = parse_campaign_file(path)
    with services().db.connection() as conn, conn.transaction():
        if merchant not in list_merchant_ids(conn):
            raise AdreelError(f"no merchant {merchant!r}; upload its catalog first")
        created = rows.save_campaign(conn, spec.campaign, merchant, spec.model_dump(mode="json"))
        if spec.schedule:
            rows.set_schedule(conn, spec.campaign, spec.schedule.cron, spec.schedule.timezone)
    if as_json:
        emit_json({"campaign_id": spec.campaign, "merchant_id": merchant, "created": created})
    else:
        verb = "created" if created else "updated"
        status(f"campaign {spec.campaign} of {merchant} {verb}")


@campaign_group.command("list")
@click.option("--merchant", help="Only this merchant's campaigns.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(merchant: str | None, as_json: bool) -> None:
    """Campaigns with their schedule and last run."""
    with services().db.connection() as conn:
        found = rows.list_campaigns(conn, merchant)
    listed = [
        {
            "campaign_id": c["campaign_id"],
            "merchant_id": c["merchant_id"],
            "schedule": _schedule_text(c),
            "next_run": next_run(c["cron"], c["timezone"]) if c["cron"] else None,
            "last_status": c["last_status"],
            "last_started_at": c["last_started_at"],
        }
        for c in found
    ]
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


def _schedule_text(campaign: dict) -> str:
    return f"{campaign['cron']} ({campaign['timezone']})" if campaign["cron"] else "on demand"


@campaign_group.command("schedule")
@click.argument("campaign_id")
@click.option("--cron", help='Cron expression, e.g. "0 6 * * 1" (Mondays 06:00).')
@click.option("--tz", "timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option("--off", is_flag=True, help="Remove the schedule.")
def schedule_command(campaign_id: str, cron: str | None, timezone: str, off: bool) -> None:
    """Run a campaign on a schedule (served by `adreel serve`)."""
    if off == bool(cron):
        raise click.UsageError("give --cron or --off")
    if cron:
        try:
            check_cron(cron)
            check_timezone(timezone)
        except ValueError as exc:
            raise AdreelError(str(exc)) from None
    with services().db.connection() as conn:
        rows.set_schedule(conn, campaign_id, cron, None if off else timezone)
    if off:
        status(f"campaign {campaign_id}: schedule removed")
    else:
        first = next_run(cron, timezone).isoformat(timespec="minutes")
        status(f"campaign {campaign_id}: {cron} ({timezone}); next run {first}")


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
    if summary.get("preview_sheet"):
        status(f"previews to review: {summary['preview_sheet']}")
    status(f"status: {summary['status']}")


@campaign_group.command("status")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_command(campaign_id: str, as_json: bool) -> None:
    """Every material: preview, decision, final, delivery; budget and recent runs."""
    with services().db.connection() as conn:
        campaign = rows.get_campaign(conn, campaign_id)
        materials = rows.campaign_materials(conn, campaign_id)
        runs = rows.recent_runs(conn, campaign_id)
        used = rows.campaign_tokens_used(conn, campaign_id)
    report = {
        "campaign_id": campaign_id,
        "merchant_id": campaign["merchant_id"],
        "schedule": _schedule_text(campaign),
        "tokens_used": used,
        "token_budget": campaign["spec"].get("token_budget"),
        "materials": [_material_view(m) for m in materials],
        "runs": [
            {k: r[k] for k in ("run_id", "status", "started_at", "finished_at")} for r in runs
        ],
        "not_rendered": _not_rendered(runs[0]["summary"]) if runs else [],
    }
    if as_json:
        emit_json(report)
        return
    emit_table(
        f"Campaign {campaign_id} of {campaign['merchant_id']}",
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
    budget = report["token_budget"]
    status(
        f"tokens used {used}"
        + (f" of a budget of {budget}" if budget else "")
        + (f"; last run: {runs[0]['status']}" if runs else "; never run")
    )


def _material_view(material: dict) -> dict:
    keys = (
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
    )
    return {key: material[key] for key in keys}


def _not_rendered(summary: dict) -> list[dict]:
    return [
        item
        for stage in ("previews", "finals")
        for item in (summary.get(stage) or {}).get("not_rendered", [])
    ]


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
    from campaigns.delivery import write_preview_sheet

    svc = services()
    with svc.db.connection() as conn:
        campaign = rows.get_campaign(conn, campaign_id)
        previews = rows.campaign_previews(conn, campaign_id)
    if not previews:
        raise AdreelError(
            f"campaign {campaign_id} has no previews yet; `adreel campaign run {campaign_id}` "
            "renders them"
        )
    only = None if decision == "all" else decision
    shown = write_preview_sheet(campaign, previews, svc.store, out, only)
    if not shown:
        raise AdreelError(
            f"campaign {campaign_id} has no {decision} previews (of {len(previews)}); "
            "nothing written"
        )
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
    with services().db.connection() as conn, conn.transaction():
        rows.get_campaign(conn, campaign_id)
        applied = rows.decide(conn, campaign_id, decision, asset_ids, reason)
        unknown = sorted(set(asset_ids or []) - set(applied))
        if unknown:
            raise AdreelError(
                f"campaign {campaign_id}: {', '.join(map(str, unknown))} "
                "not previews of this campaign awaiting a decision (delivered finals cannot "
                "change); nothing was changed"
            )
    return applied


def _asset_ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise AdreelError(f"--assets {text!r}: asset ids are numbers, e.g. 12,13") from None


def register(cli: click.Group) -> None:
    cli.add_command(campaign_group)
