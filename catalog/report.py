"""The validation report a merchant reads: per rule, how many rows and the first ones,
as a self-contained HTML page; and a CSV of every rejected row, with its errors, that the
merchant can fix and upload again (its columns are Google's feed columns)."""

from __future__ import annotations

import csv
import html
import json
from dataclasses import dataclass
from pathlib import Path

from catalog.schema import CANONICAL
from catalog.uploads import get_upload, rejected_rows, rule_examples
from storage.db import Database
from storage.errors import AdreelError

RULE_HELP = {
    "required_id": "Every product needs an id.",
    "required_title": "Every product needs a title.",
    "required_price": "Every product needs a price.",
    "duplicate_id": "The same id appears on more than one row; make each id unique.",
    "id_spreadsheet_mangled": "The id looks changed by a spreadsheet (e.g. 1.23457E+18); "
    "format the id column as text and export again.",
    "id_length": "Ids are at most 50 characters.",
    "title_length": "Titles are at most 150 characters.",
    "description_length": "Descriptions are at most 5,000 characters.",
    "price_format": "Write prices as an amount and an ISO currency, e.g. '15.00 USD'.",
    "price_positive": "Prices must be above zero.",
    "sale_price_format": "Write sale prices like prices, e.g. '12.00 USD'.",
    "sale_price_not_above_price": "A sale price must be above zero, in the price's currency, "
    "and not above the price.",
    "link_url": "Product links must be full http(s) URLs.",
    "image_link_url": "Image links must be http(s) URLs, file:// URLs or paths.",
    "availability_value": "Use in stock, out of stock, preorder or backorder.",
    "condition_value": "Use new, refurbished or used.",
    "gtin_check_digit": "The GTIN's check digit is wrong; check for a typo.",
    "image_fetch": "The image could not be downloaded or read.",
    "image_decode": "The file is not an image adreel can read.",
    "image_too_large": "The image is too large.",
}


def write_html_report(path: Path, upload: dict, rules: list[dict]) -> None:
    rows = []
    for rule in rules:
        examples = "".join(
            f"<tr><td>{e['row']}</td><td>{_e(e['id'])}</td><td><code>{_e(e['value'])}</code></td></tr>"
            for e in rule["examples"]
        )
        shown = len(rule["examples"])
        cut = (
            f"<p>first {shown} of {rule['rows']} rows; every one is in the rejected-rows CSV.</p>"
            if shown < rule["rows"]
            else ""
        )
        rows.append(
            f"<section><h2>{_e(rule['rule'])} <small>({_e(rule['field'])}, {rule['rows']} rows)"
            f"</small></h2><p>{_e(RULE_HELP.get(rule['rule'], ''))}</p>{cut}<table><tr>"
            f"<th>row</th><th>id</th><th>value as written</th></tr>{examples}</table></section>"
        )
    summary = ", ".join(
        f"{k.replace('_', ' ')} {upload[k]}"
        for k in (
            "rows_read",
            "accepted",
            "rejected",
            "duplicates_collapsed",
            "created",
            "updated",
            "unchanged",
            "removed",
        )
    )
    path.write_text(
        "<!doctype html><meta charset='utf-8'><title>Catalog report</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}"
        "small{color:#666}</style>"
        f"<h1>Catalog version {upload['version']} of {_e(upload['merchant_id'])}</h1>"
        f"<p>{_e(upload['file_name'])} ({_e(upload['format'])}, {_e(upload['mode'])} upload):"
        f" {summary}.</p>" + ("".join(rows) or "<p>Every row passed every check.</p>"),
        encoding="utf-8",
    )


def write_rejected_csv(path: Path, rejected: list[dict]) -> None:
    """Values as the merchant wrote them; a UTF-8 BOM so that spreadsheets read accents
    and scripts right (adreel reads it back: fix the rows, `upload --mode update`)."""
    with open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "errors", *CANONICAL])
        for row in rejected:
            record = row["record"]
            writer.writerow(
                [
                    row["row_number"],
                    row["errors"],
                    *(_cell(record.get(column)) for column in CANONICAL),
                ]
            )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(v) if not isinstance(v, dict) else json.dumps(v) for v in value)
    return str(value)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


@dataclass(frozen=True)
class WrittenReport:
    version: int
    report: Path
    rejected_csv: Path
    rules: list[dict]
    rejected: int


def write_report(
    db: Database, merchant_id: str, version: int | None, out: Path, rejected_csv: Path
) -> WrittenReport:
    """Write the validation report of a catalog version (default: the latest) and the CSV
    of its rejected rows."""
    with db.connection() as conn:
        upload = get_upload(conn, merchant_id, version)
        if upload is None:
            missing = f"merchant {merchant_id} has no catalog version {version or ''}"
            raise AdreelError(missing.strip())
        rules = rule_examples(conn, merchant_id, upload["version"])
        rejected = rejected_rows(conn, merchant_id, upload["version"])
    write_html_report(out, upload, rules)
    write_rejected_csv(rejected_csv, rejected)
    return WrittenReport(upload["version"], out, rejected_csv, rules, len(rejected))
