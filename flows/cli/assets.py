"""``adreel assets`` and ``adreel storage``: stored ads, links to them, and upkeep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from flows.cli.output import emit_json, emit_table, status
from generation.assets import find_asset, list_assets
from generation.sweep import sweep
from storage.errors import AdreelError
from storage.objects import StorageError, build_store, sha256_file
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
    svc = services()
    store = svc.store  # checked up front: a listing is only useful if the files are reachable
    with svc.db.connection() as conn:
        assets = list_assets(conn, merchant, campaign)
    if as_json:
        emit_json({"merchant_id": merchant, "assets": assets})
        return
    emit_table(
        f"Assets of {merchant}",
        ["asset", "product", "variant", "kind", "bytes", "location"],
        [
            (
                a["asset_id"],
                a["product_id"],
                a["variant"],
                a["kind"],
                a["size_bytes"],
                store.location(a["object_key"]) + (" (MISSING)" if a["missing_at"] else ""),
            )
            for a in assets
        ],
    )


def _asset_of(merchant: str, asset_id: int) -> dict:
    with services().db.connection() as conn:
        asset = find_asset(conn, merchant, asset_id)
    if asset is None:  # the same answer whether it is someone else's or nobody's
        raise AdreelError(f"merchant {merchant} has no asset {asset_id}")
    return asset


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
    asset = _asset_of(merchant, asset_id)
    name = Path(asset["object_key"]).name
    click.echo(
        services().store.url(
            asset["object_key"], expires, download_name=f"{asset['product_id']}-{name}"
        )
    )


@assets_group.command("download")
@click.argument("asset_id", type=int)
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--merchant", required=True, help="Merchant id: only its own assets download.")
def download_command(asset_id: int, directory: Path, merchant: str) -> None:
    """Download an asset into DIRECTORY and verify its SHA-256 checksum."""
    asset = _asset_of(merchant, asset_id)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{asset['product_id']}-{Path(asset['object_key']).name}"
    partial = target.with_name(target.name + ".part")
    services().store.download(asset["object_key"], partial)
    actual = sha256_file(partial)
    if actual != asset["sha256"]:
        partial.unlink()
        raise StorageError(
            f"asset {asset_id}: checksum mismatch (expected {asset['sha256']}, got {actual}); "
            "the download was discarded"
        )
    partial.replace(target)
    status(f"{target} (sha256 verified)")


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
    svc = services()
    with svc.db.connection() as conn:
        report = sweep(conn, svc.store, svc.settings.s3_prefix, timedelta(hours=grace_hours), apply)
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
