"""JSON Lines in adreel's canonical schema: one product object per line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from catalog.errors import CatalogError
from catalog.model import Product, parse_money


def read_jsonl(path: Path) -> Iterator[Product]:
    """Yield products in file order; raise ``CatalogError`` at the first bad row."""
    with open(path, encoding="utf-8") as handle:
        for row, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            yield _parse_row(path, row, line)


def _parse_row(path: Path, row: int, line: str) -> Product:
    try:
        record = json.loads(line, parse_float=str)
    except json.JSONDecodeError as exc:
        raise CatalogError(path, row, "-", f"not valid JSON ({exc.msg})") from None
    if not isinstance(record, dict):
        raise CatalogError(path, row, "-", "each line must be a JSON object")
    if isinstance(record.get("price"), str) and " " in record["price"].strip():
        try:
            amount, currency = parse_money(record["price"])
        except ValueError as exc:
            raise CatalogError(path, row, "price", str(exc)) from None
        record["price"], record["currency"] = amount, currency
    try:
        return Product.model_validate(record)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"]) or "-"
        raise CatalogError(path, row, field, error["msg"]) from None
