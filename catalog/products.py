"""A merchant's products (catalog uploads write them: see ``catalog.uploads``)."""

from __future__ import annotations

from typing import Any

import psycopg

from catalog.queries import query


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
