"""Merchants and their products (catalog uploads write products: see catalog_uploads)."""

from __future__ import annotations

from typing import Any

import psycopg

from storage.queries import query


def ensure_merchant(
    conn: psycopg.Connection, merchant_id: str, name: str, default_currency: str = "USD"
) -> None:
    conn.execute(
        query("upsert_merchant"),
        {"merchant_id": merchant_id, "name": name, "default_currency": default_currency},
    )


def list_products(
    conn: psycopg.Connection, merchant_id: str, product_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    params = {"merchant_id": merchant_id, "product_ids": product_ids}
    return conn.execute(query("list_products"), params).fetchall()


def list_merchant_ids(conn: psycopg.Connection) -> list[str]:
    return [row["merchant_id"] for row in conn.execute(query("list_merchant_ids"))]


def merchant_currency(conn: psycopg.Connection, merchant_id: str) -> str:
    """The currency for prices a feed gives without one (Shopify exports)."""
    row = conn.execute(query("merchant_currency"), {"merchant_id": merchant_id}).fetchone()
    return row["default_currency"]


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
) -> None:
    conn.execute(
        query("set_product_image"),
        {
            "merchant_id": merchant_id,
            "product_id": product_id,
            "image_key": image_key,
            "image_status": "ready" if image_key else "failed",
            "image_error": error,
        },
    )
