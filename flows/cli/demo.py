"""``adreel demo``: the whole pipeline on the sample catalog, end to end."""

from __future__ import annotations

import sys

import click

from flows.cli.output import emit_json, emit_table, status
from flows.progress import progress_bars
from flows.services import configure_prefect, preflight
from storage.settings import get_settings


@click.command("demo")
@click.option("--merchant", default="demo", show_default=True, help="Merchant id to use.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N sample products.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def demo_command(merchant: str, limit: int | None, as_json: bool) -> None:
    """Ingest the sample catalog, render and compose one 9:16 ad per product, store them.

    Uses ADREEL_DATABASE_URL, ADREEL_S3_*, ADREEL_BROKER_URL and ADREEL_MODEL, each
    falling back to the embedded, in-process default. A second run reuses everything.
    """
    settings = get_settings()
    configure_prefect(settings)
    preflight(settings)  # fail on a bad setting in one line, before Prefect starts
    from flows.demo import demo_flow

    with progress_bars(enabled=not as_json and sys.stderr.isatty()):
        summary = demo_flow(merchant_id=merchant, limit=limit)
    if as_json:
        emit_json(summary)
        return
    videos = [asset for asset in summary["assets"] if asset["kind"] == "video"]
    emit_table(
        f"Ads for merchant {merchant}",
        ["product", "asset", "size", "location"],
        [
            (a["product_id"], a["asset_id"], f"{a['width']}x{a['height']}", a["location"])
            for a in videos
        ],
    )
    catalog, renders = summary["catalog"], summary["renders"]
    products = (
        f"catalog version {catalog['version']} unchanged"
        if catalog["replayed"]
        else f"products: {catalog['created']} new, {catalog['updated']} updated, "
        f"{catalog['unchanged']} unchanged"
    )
    status(
        f"{products}; renders: {renders['rendered']} new, {renders['reused']} reused; "
        f"{len(videos)} ads stored"
    )


def register(cli: click.Group) -> None:
    cli.add_command(demo_command)
