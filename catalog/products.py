"""A merchant's products (catalog uploads write them: see ``catalog.uploads``)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from catalog.money import PriceError, parse_price
from catalog.queries import query
from catalog.uploads import get_upload, rejected_rows
from storage.db import Database
from storage.errors import NotFound
from storage.merchants import UnknownMerchant, require_merchant

PRODUCT_STATUSES = ("live", "removed", "quarantined")


class UnknownUpload(NotFound):
    def __init__(self, merchant_id: str, version: int) -> None:
        super().__init__(f"merchant {merchant_id} has no catalog version {version}")


def list_products(
    conn: psycopg.Connection, merchant_id: str, product_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    params = {"merchant_id": merchant_id, "product_ids": product_ids}
    return conn.execute(query("list_products"), params).fetchall()


def products_pending_images(
    conn: psycopg.Connection, merchant_id: str, limit: int
) -> list[dict[str, Any]]:
    params = {"merchant_id": merchant_id, "limit": limit}
    return conn.execute(query("products_pending_images"), params).fetchall()


def set_product_image(
    conn: psycopg.Connection,
    merchant_id: str,
    product_id: str,
    image_key: str | None,
    error: str | None,
    additional_image_keys: tuple[str, ...] = (),
) -> None:
    conn.execute(
        query("set_product_image"),
        {
            "merchant_id": merchant_id,
            "product_id": product_id,
            "image_key": image_key,
            "image_status": "ready" if image_key else "failed",
            "image_error": error,
            "additional_image_keys": Jsonb(list(additional_image_keys)),
        },
    )


def first_product_ids(db: Database, merchant_id: str, limit: int | None = None) -> list[str]:
    """The merchant's product ids in id order, the first ``limit`` of them."""
    with db.connection() as conn:
        return [p["product_id"] for p in list_products(conn, merchant_id)][:limit]


def catalog_products(db: Database, merchant_id: str, status: str | None = None) -> list[dict]:
    """The merchant's catalog as stored: live and removed products, and the rows its
    latest upload quarantined (with ``row`` and ``errors``); ``status`` keeps one kind.

    Each has ``id``, ``title``, ``price`` (decimal text; None for a quarantined row
    whose price cannot be read), ``currency``, ``status`` and ``image_status``."""
    return product_page(db, merchant_id, status)[0]


def product_page(
    db: Database,
    merchant_id: str,
    status: str | None = None,
    after: tuple[bool, str, int] | None = None,
    limit: int | None = None,
) -> tuple[list[dict], bool]:
    """A page of ``catalog_products`` in its order (stored products by id, then the
    quarantined rows by row) after the position ``after`` (see ``page_position``), and
    whether more follow. Stored products are paged in SQL: a page of a large catalog
    reads only that page."""
    in_quarantine, after_id, after_row = after or (False, None, 0)
    wanted = None if limit is None else limit + 1  # one more says whether more follow
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        found: list[dict] = []
        if status != "quarantined" and not in_quarantine:
            params = {
                "merchant_id": merchant_id,
                "status": status,
                "after_id": after_id,
                "limit": wanted,
            }
            found = conn.execute(query("stored_products"), params).fetchall()
        if status in (None, "quarantined") and (wanted is None or len(found) < wanted):
            latest = get_upload(conn, merchant_id, None)
            rejected = rejected_rows(conn, merchant_id, latest["version"]) if latest else []
            found += [
                _quarantined(row, latest["currency"])
                for row in rejected
                if not in_quarantine or row["row_number"] > after_row
            ]
    if limit is None:
        return found, False
    return found[:limit], len(found) > limit


async def stored_product_page_json(
    conn: psycopg.AsyncConnection,
    merchant_id: str,
    status: str | None,
    after_id: str | None,
    limit: int,
) -> tuple[str, str | None, bool] | None:
    """``product_page``'s stored products as JSON text built by PostgreSQL in one round
    trip (the API's busiest read): ``(products, last id, more follow)``; None when the
    page is not full and quarantined rows may follow (ask ``product_page``)."""
    params = {"merchant_id": merchant_id, "status": status, "after_id": after_id, "limit": limit}
    cursor = await conn.execute(query("stored_products_page_json"), params)
    row = await cursor.fetchone()
    if not row["known"]:
        raise UnknownMerchant(merchant_id)
    more = row["found"] > limit
    if not more and status is None:
        return None
    return row["products"], row["last_id"], more


def page_position(product: dict) -> tuple[bool, str, int]:
    """Where a product stands in ``product_page``'s order, to page after it."""
    return product["status"] == "quarantined", product["id"] or "", product.get("row") or 0


def _quarantined(row: dict, default_currency: str | None) -> dict:
    record = row["record"]
    try:
        amount, currency = parse_price(str(record.get("price", "")).strip(), default_currency)
        price: str | None = str(amount)
    except PriceError:
        price, currency = None, None
    return {
        "id": record.get("id"),
        "title": record.get("title"),
        "price": price,
        "currency": currency,
        "status": "quarantined",
        "image_status": None,
        "row": row["row_number"],
        "errors": row["errors"],
    }


def upload_status(db: Database, merchant_id: str, version: int) -> dict[str, Any]:
    """One catalog upload as recorded: its file, options, counts and rejected rows per
    rule (``rule_counts``); UnknownUpload if the merchant has no such version."""
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        upload = get_upload(conn, merchant_id, version)
    if upload is None:
        raise UnknownUpload(merchant_id, version)
    return upload
