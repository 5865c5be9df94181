"""``adreel catalog``: merchants' product feeds in, with a report of what was wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from catalog.readers import FORMATS
from catalog.report import write_html_report, write_rejected_csv
from catalog.upload import IMAGE_MODES, fetch_pending_images, upload_catalog
from catalog.uploads import get_upload, rejected_rows, rule_examples
from flows.cli.output import emit_json, emit_table, status
from flows.progress import progress_bars, tracker
from storage.errors import AdreelError
from storage.services import services


@click.group("catalog")
def catalog_group() -> None:
    """Product catalogs: Google (TSV/CSV/XML), Meta, Shopify, JSON Lines, Parquet."""


@catalog_group.command("upload")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), help="Default: detected.")
@click.option("--currency", help="Currency for prices given without one (Shopify).")
@click.option(
    "--images",
    type=click.Choice(IMAGE_MODES),
    default="upload",
    show_default=True,
    help="Fetch product images now, or later with `catalog fetch-images`.",
)
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def upload_command(
    merchant: str, fmt: str | None, currency: str | None, images: str, file: Path, as_json: bool
) -> None:
    """Upload a catalog file: good rows are upserted, bad rows quarantined with reasons.

    Uploading the same file again changes nothing and says so.
    """
    svc = services()
    with progress_bars(enabled=not as_json and sys.stderr.isatty()):
        advance = tracker(f"reading {file.name}", total=None)
        result = upload_catalog(svc, merchant, file, fmt, currency, images, on_rows=advance)
    if as_json:
        emit_json(result.as_dict())
        return
    if result.replayed:
        status(f"{file.name} is the same file as catalog version {result.version}; nothing changed")
        return
    status(
        f"catalog version {result.version} of {merchant}: {result.rows_read} rows read, "
        f"{result.accepted} accepted, {result.rejected} rejected; products {result.created} new, "
        f"{result.updated} updated, {result.unchanged} unchanged, {result.removed} removed"
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
    with services().db.connection() as conn:
        upload = get_upload(conn, merchant, version)
        if upload is None:
            raise AdreelError(f"merchant {merchant} has no catalog version {version or ''}".strip())
        rules = rule_examples(conn, merchant, upload["version"])
        rejected = rejected_rows(conn, merchant, upload["version"])
    rejected_csv = rejected_csv or out.with_name(out.stem + "-rejected.csv")
    write_html_report(out, upload, rules)
    write_rejected_csv(rejected_csv, rejected)
    if as_json:
        emit_json(
            {
                "version": upload["version"],
                "report": str(out),
                "rejected_csv": str(rejected_csv),
                "rules": rules,
            }
        )
    else:
        status(f"report: {out}; rejected rows: {rejected_csv} ({len(rejected)} rows)")


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
    counts = fetch_pending_images(services(), merchant, base_dir)
    if as_json:
        emit_json({"merchant_id": merchant, **counts})
    else:
        status(
            f"{merchant}: {counts['ready']} images ready, {counts['failed']} failed "
            "(see image_error on those products)"
        )


def register(cli: click.Group) -> None:
    cli.add_command(catalog_group)
