"""``adreel assets``: what has been rendered and stored for a merchant."""

from __future__ import annotations

import click

from flows.cli.output import emit_json, emit_table
from flows.services import services
from storage.assets import list_assets


@click.group("assets")
def assets_group() -> None:
    """Stored ads and posters (ADREEL_S3_* or the local directory under ADREEL_HOME)."""


@assets_group.command("list")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(merchant: str, as_json: bool) -> None:
    """List a merchant's assets, newest first."""
    svc = services()
    store = svc.store  # checked up front: a listing is only useful if the files are reachable
    with svc.db.connection() as conn:
        assets = list_assets(conn, merchant)
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
                store.location(a["object_key"]),
            )
            for a in assets
        ],
    )


def register(cli: click.Group) -> None:
    cli.add_command(assets_group)
