"""Merchants: the tenant that every row and object key is scoped by.

Every domain package needs to know whether a merchant exists, and none may import
another sideways, so the tenant root lives here beside the pool.
"""

from __future__ import annotations

import psycopg

from storage.errors import AdreelError
from storage.queries import query


class UnknownMerchant(AdreelError):
    """A command named a merchant adreel has never seen."""

    def __init__(self, merchant_id: str) -> None:
        self.merchant_id = merchant_id
        super().__init__(f"no merchant {merchant_id!r}; upload its catalog first")


def ensure_merchant(
    conn: psycopg.Connection, merchant_id: str, name: str, default_currency: str = "USD"
) -> None:
    """Create the merchant on first sight; an existing one is left as it is."""
    conn.execute(
        query("upsert_merchant"),
        {"merchant_id": merchant_id, "name": name, "default_currency": default_currency},
    )


def require_merchant(conn: psycopg.Connection, merchant_id: str) -> None:
    if not conn.execute(query("merchant_exists"), {"merchant_id": merchant_id}).fetchone()["known"]:
        raise UnknownMerchant(merchant_id)


def list_merchant_ids(conn: psycopg.Connection) -> list[str]:
    return [row["merchant_id"] for row in conn.execute(query("list_merchant_ids"))]


def merchant_currency(conn: psycopg.Connection, merchant_id: str) -> str:
    """The currency for prices a feed gives without one (Shopify exports)."""
    row = conn.execute(query("merchant_currency"), {"merchant_id": merchant_id}).fetchone()
    return row["default_currency"]
