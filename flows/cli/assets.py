"""``adreel assets`` and ``adreel storage``: stored ads, links to them, and upkeep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from flows.cli.output import emit_json, emit_table, status
from generation.delivery import asset_url, download_asset, merchant_assets
from generation.sweep import sweep_store
from storage.objects import build_store
from storage.services import services
from storage.settings import get_settings


@click.group("assets")
def assets_group() -> None:
    """Stored ads and posters (ADREEL_S3_* or the local directory under ADREEL_HOME)."""


@assets_group.command("list")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--campaign", help="Only this campaign's assets.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(merchant: str, campaign: str | None, as_json: bool) -> None:
    """List a merchant's assets, newest first."""
    assets = merchant_assets(services(), merchant, campaign)
    if as_json:
        emit_json({"merchant_id": merchant, "assets": assets})
        return
    emit_table(
        f"Assets of {merchant}",
        [
            "asset",
            "product",
            "template",
            "format",
            "language",
            "variant",
            "profile",
            "kind",
            "bytes",
            "location",
        ],
        [
            (
                a["asset_id"],
                a["product_id"],
                a["template"],
                a["format"],
                a["language"],
                a["material_variant"],
                a["profile"],
                a["kind"],
                a["size_bytes"],
                a["location"] + (" (MISSING)" if a["missing_at"] else ""),
            )
            for a in assets
        ],
    )


@assets_group.command("url")
@click.argument("asset_id", type=int)
@click.option("--merchant", required=True, help="Merchant id: only its own assets have links.")
@click.option(
    "--expires",
    type=click.IntRange(1, 7 * 24 * 3600),
    default=3600,
    show_default=True,
    help="Seconds the link stays valid (S3; a local file link does not expire).",
)
def url_command(asset_id: int, merchant: str, expires: int) -> None:
    """Print a presigned GET link to one of the merchant's assets."""
    click.echo(asset_url(services(), merchant, asset_id, expires))


@assets_group.command("download")
@click.argument("asset_id", type=int)
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--merchant", required=True, help="Merchant id: only its own assets download.")
@click.option("--overwrite", is_flag=True, help="Replace a file of that name with other content.")
def download_command(asset_id: int, directory: Path, merchant: str, overwrite: bool) -> None:
    """Download an asset into DIRECTORY and verify its SHA-256 checksum.

    The file is named by its material: product-template-format-language-vN-profile-kind.
    """
    target, outcome = download_asset(services(), merchant, asset_id, directory, overwrite)
    said = {
        "written": "sha256 verified",
        "unchanged": "already there with the same content; nothing written",
        "replaced": "sha256 verified; replaced the file that was there",
    }
    status(f"{target} ({said[outcome]})")


@assets_group.command("sweep")
@click.option(
    "--grace-hours",
    type=float,
    default=24,
    show_default=True,
    help="Only objects older than this can be orphans (writes may be in flight).",
)
@click.option(
    "--apply", is_flag=True, help="Delete orphans and mark missing rows (default: only report)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def sweep_command(grace_hours: float, apply: bool, as_json: bool) -> None:
    """Find objects without rows (removed) and rows without objects (marked, never deleted)."""
    report = sweep_store(services(), timedelta(hours=grace_hours), apply)
    if as_json:
        emit_json(
            {
                "orphans": report.orphans,
                "missing_asset_ids": report.missing_asset_ids,
                "applied": report.applied,
            }
        )
        return
    verb = "removed" if apply else "would remove (dry run; --apply to act)"
    status(
        f"{len(report.orphans)} orphan objects {verb}; "
        f"{len(report.missing_asset_ids)} asset rows without an object "
        f"{'marked missing' if apply else 'found'}"
    )


@click.group("storage")
def storage_group() -> None:
    """The object store itself."""


@storage_group.command("init")
@click.option(
    "--preview-days",
    type=click.IntRange(min=1),
    default=14,
    show_default=True,
    help="Days before preview objects expire (S3 lifecycle rule).",
)
def init_command(preview_days: int) -> None:
    """Create the bucket (or directory) and the rule that expires previews."""
    for line in build_store(get_settings()).init(preview_days):
        status(line)


def register(cli: click.Group) -> None:
    cli.add_command(assets_group)
    cli.add_command(storage_group)
