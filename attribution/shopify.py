"""Shopify's orders export CSV, read as adreel order lines.

The export has one row per line item; order-level columns (Created at, Email, Currency)
are filled only on an order's first row. Mapping: ``order_id`` = Name (``#1001``),
``line_id`` = the line item's position within its order (1, 2, ...), ``customer_key`` =
Email in lower case, ``product_id`` = Lineitem sku (else Lineitem name), ``quantity``,
``unit_price`` and ``discount`` = Lineitem quantity, price and discount, ``click_id`` =
an ``adreel_click_id`` note attribute when the storefront records one. The export does
not name the merchant, so the importer is told which one it is.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from attribution.feeds import ORDERS
from billing.feeds import Feed, FileError, validate_strings

SIGNATURE = {"Name", "Created at", "Lineitem quantity", "Lineitem price"}
ORDER_LEVEL = ["Email", "Created at", "Currency", "Note Attributes"]


def is_shopify_export(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            header = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return {name.strip() for name in header.rstrip("\r\n").split(",")} >= SIGNATURE


def read_shopify_orders(path: Path, merchant_id: str | None) -> Feed:
    if not merchant_id:
        raise FileError(
            f"{path}: a Shopify orders export does not name the merchant; give --merchant"
        )
    options = pacsv.ConvertOptions(
        column_types=_all_strings(path), strings_can_be_null=True, null_values=[""]
    )
    frame = pacsv.read_csv(path, convert_options=options).to_pandas()
    for column in ORDER_LEVEL:
        if column not in frame:
            frame[column] = None
        frame[column] = frame.groupby("Name", sort=False)[column].transform("first")
    created = frame["Created at"].str.replace(
        r"^(\S+) (\S+) ([+-]\d{2})(\d{2})$", r"\1T\2\3:\4", regex=True
    )
    product = frame.get("Lineitem sku", frame["Lineitem name"]).fillna(frame["Lineitem name"])
    click = frame["Note Attributes"].str.extract(r"adreel_click_id:\s*([^\s,;]+)", expand=False)
    lines = {
        "order_id": frame["Name"],
        "line_id": (frame.groupby("Name", sort=False).cumcount() + 1).astype(str),
        "merchant_id": merchant_id,
        "ordered_at": created,
        "customer_key": frame["Email"].str.strip().str.lower(),
        "product_id": product,
        "quantity": frame["Lineitem quantity"],
        "unit_price": frame["Lineitem price"],
        "discount": frame.get("Lineitem discount"),
        "currency": frame["Currency"],
        "click_id": click,
    }
    table = pa.table(
        {
            column.name: pa.array(_strings(lines[column.name], len(frame)), pa.string())
            for column in ORDERS.columns
        }
    )
    return validate_strings(str(path), ORDERS, table, first_row=2)


def _all_strings(path: Path) -> dict[str, pa.DataType]:
    """Read every column as text: sku codes and prices keep their exact digits."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    return {name: pa.string() for name in header}


def _strings(values, rows: int) -> list[str | None]:
    if values is None:
        return [None] * rows
    if isinstance(values, str):
        return [values] * rows
    return [None if v is None or v != v else str(v) for v in values]
