"""Products: canonical JSON Lines in, idempotent upserts, one clear line for bad rows."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from catalog.errors import CatalogError
from catalog.jsonl import read_jsonl
from catalog.sample import write_sample_catalog
from storage.products import ensure_merchant, list_products, upsert_products


def product_row(product_id: str, title: str, price: str) -> dict:
    return {
        "product_id": product_id,
        "title": title,
        "description": "",
        "link": None,
        "image_link": None,
        "image_key": None,
        "price": Decimal(price),
        "currency": "USD",
        "brand": None,
        "product_category": None,
        "attributes": {},
        "content_hash": title + price,
    }


def test_sample_catalog_has_twenty_products_with_decimal_prices(tmp_path):
    products = list(read_jsonl(write_sample_catalog(tmp_path)))
    assert len(products) == 20
    assert len({p.id for p in products}) == 20
    assert products[0].price == Decimal("89.00") and products[0].currency == "USD"
    assert all((tmp_path / p.image_link).is_file() for p in products)


def test_sample_catalog_is_the_same_bytes_every_time(tmp_path):
    first = write_sample_catalog(tmp_path / "a").read_bytes()
    assert write_sample_catalog(tmp_path / "b").read_bytes() == first


def test_bad_row_names_file_row_and_field(tmp_path):
    path = tmp_path / "feed.jsonl"
    good = {"id": "A1", "title": "Mug", "price": "9.50 USD"}
    bad = {"id": "A2", "title": "Cup", "price": "nine USD"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(CatalogError) as error:
        list(read_jsonl(path))
    assert str(error.value).startswith(f"{path}: row 2: price:")


def test_upserts_insert_then_update_then_leave_alone(db):
    with db.connection() as conn:
        ensure_merchant(conn, "upsert-m", "Upsert merchant")
        first = upsert_products(conn, "upsert-m", [product_row("P1", "Mug", "9.50")])
        same = upsert_products(conn, "upsert-m", [product_row("P1", "Mug", "9.50")])
        changed = upsert_products(conn, "upsert-m", [product_row("P1", "Mug", "8.00")])
        stored = list_products(conn, "upsert-m")
    assert (first.inserted, same.unchanged, changed.updated) == (1, 1, 1)
    assert len(stored) == 1 and stored[0]["price"] == Decimal("8.00")
