"""``adreel catalog``: merchants' product feeds in, with a report of what was wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from catalog.products import PRODUCT_STATUSES, catalog_products
from catalog.report import write_report
from catalog.schema import FORMATS, IMAGE_MODES, UPLOAD_MODES
from flows.cli.output import emit_json, emit_table, status
from flows.progress import progress_bars, tracker
from storage.services import services


@click.group("catalog")
def catalog_group() -> None:
    """Product catalogs: Google (TSV/CSV/XML), Meta, Shopify, JSON Lines, Parquet."""


@catalog_group.command("upload")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: detected.")
@click.option(
    "--currency",
    help="Currency for prices given without one (Shopify). Default: the merchant's "
    "(`adreel merchant set M --currency EUR`).",
)
@click.option(
    "--images",
    type=click.Choice(IMAGE_MODES),
    default="upload",
    show_default=True,
    help="Fetch product images now, or later with `catalog fetch-images`.",
)
@click.option(
    "--mode",
    type=click.Choice(UPLOAD_MODES),
    default="full",
    show_default=True,
    help="full: the file is the whole catalog (unlisted products are marked removed); "
    "update: upsert only the file's rows (e.g. a fixed rejected-rows CSV).",
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def upload_command(
    merchant: str,
    fmt: str | None,
    currency: str | None,
    images: str,
    mode: str,
    file: Path,
    as_json: bool,
) -> None:
    """Upload a catalog file: good rows are upserted, bad rows quarantined with reasons.

    Uploading the same file again, with the same options, changes nothing and says so.
    """
    from catalog.upload import upload_catalog  # pandas and the validation suite: only here

    svc = services()
    with progress_bars(enabled=not as_json and sys.stderr.isatty()):
        advance = tracker(f"reading {file.name}", total=None)
        result = upload_catalog(
            svc, merchant, file, fmt, currency, images, on_rows=advance, mode=mode
        )
    if as_json:
        emit_json(result.as_dict())
        return
    if result.replayed:
        status(
            f"{file.name} was uploaded the same way as catalog version {result.version}; "
            "nothing changed"
        )
        return
    collapsed = (
        f" ({result.duplicates_collapsed} identical repeated rows counted once)"
        if result.duplicates_collapsed
        else ""
    )
    status(
        f"catalog version {result.version} of {merchant} ({mode}): {result.rows_read} rows "
        f"read, {result.accepted} accepted, {result.rejected} rejected{collapsed}; products "
        f"{result.created} new, {result.updated} updated, {result.unchanged} unchanged, "
        f"{result.removed} removed"
    )
    if result.rule_counts:
        emit_table("Rejected rows by rule", ["rule", "rows"], sorted(result.rule_counts.items()))
        status(f"details: adreel catalog report --merchant {merchant} --version {result.version}")


@catalog_group.command("report")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--version", type=int, help="Catalog version (default: the latest).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("catalog-report.html"),
    show_default=True,
    help="HTML report.",
)
@click.option(
    "--rejected-csv",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV of rejected rows to fix (default: next to the report).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def report_command(
    merchant: str, version: int | None, out: Path, rejected_csv: Path | None, as_json: bool
) -> None:
    """Write the validation report of a catalog version, and a CSV of its rejected rows."""
    rejected_csv = rejected_csv or out.with_name(out.stem + "-rejected.csv")
    written = write_report(services().db, merchant, version, out, rejected_csv)
    if as_json:
        emit_json(
            {
                "version": written.version,
                "report": str(out),
                "rejected_csv": str(rejected_csv),
                "rules": written.rules,
            }
        )
    else:
        status(f"report: {out}; rejected rows: {rejected_csv} ({written.rejected} rows)")


@catalog_group.command("fetch-images")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option(
    "--base-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="Where relative image paths are resolved.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fetch_images_command(merchant: str, base_dir: Path, as_json: bool) -> None:
    """Fetch product images deferred at upload (`catalog upload --images defer`)."""
    from catalog.upload import fetch_pending_images  # pandas: only here

    counts = fetch_pending_images(services(), merchant, base_dir)
    if as_json:
        emit_json({"merchant_id": merchant, **counts})
    else:
        status(
            f"{merchant}: {counts['ready']} images ready, {counts['failed']} failed "
            "(see image_error on those products)"
        )


@catalog_group.command("products")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option(
    "--status",
    "wanted",
    type=click.Choice(PRODUCT_STATUSES),
    help="Only live, removed, or quarantined (rows the latest upload rejected). Default: all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def products_command(merchant: str, wanted: str | None, as_json: bool) -> None:
    """List the merchant's catalog as stored."""
    found = catalog_products(services().db, merchant, wanted)
    if as_json:
        emit_json({"products": found})
        return
    emit_table(
        f"Products of {merchant}",
        ["id", "title", "price", "currency", "status", "image"],
        [
            [p["id"], p["title"], p["price"], p["currency"], p["status"], p["image_status"]]
            for p in found
        ],
    )


def register(cli: click.Group) -> None:
    cli.add_command(catalog_group)
