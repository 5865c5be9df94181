"""Merchants: the tenant that every row and object key is scoped by.

Every domain package needs to know whether a merchant exists, and none may import
another sideways, so the tenant root lives here beside the pool.
"""

from __future__ import annotations

import psycopg

from storage.currencies import is_currency
from storage.db import Database
from storage.errors import AdreelError, NotFound
from storage.queries import query


class UnknownMerchant(NotFound):
    """A command named a merchant adreel has never seen."""

    def __init__(self, merchant_id: str) -> None:
        self.merchant_id = merchant_id
        super().__init__(f"no merchant {merchant_id!r}; upload its catalog first")


def ensure_merchant(
    conn: psycopg.Connection, merchant_id: str, name: str, default_currency: str | None = None
) -> None:
    """Create the merchant on first sight; an existing one is left as it is.

    ``default_currency`` None means "none set": prices without a currency are then
    refused until the merchant sets one (``set_default_currency``)."""
    conn.execute(
        query("upsert_merchant"),
        {"merchant_id": merchant_id, "name": name, "default_currency": default_currency},
    )


def require_merchant(conn: psycopg.Connection, merchant_id: str) -> None:
    if not conn.execute(query("merchant_exists"), {"merchant_id": merchant_id}).fetchone()["known"]:
        raise UnknownMerchant(merchant_id)


def list_merchant_ids(conn: psycopg.Connection) -> list[str]:
    return [row["merchant_id"] for row in conn.execute(query("list_merchant_ids"))]


def merchant_currency(conn: psycopg.Connection, merchant_id: str) -> str | None:
    """The currency for prices a feed gives without one (Shopify exports); None if the
    merchant (or its default currency) is not known."""
    row = conn.execute(query("merchant_currency"), {"merchant_id": merchant_id}).fetchone()
    return row["default_currency"] if row else None


def set_default_currency(db: Database, merchant_id: str, currency: str) -> dict:
    """Store the merchant's default currency (creating the merchant on first sight);
    returns the merchant id, the currency and the one it replaced (None if none)."""
    code = currency.strip().upper()
    if not is_currency(code):
        raise AdreelError(f"--currency: {currency!r} is not an ISO 4217 currency code")
    try:
        with db.connection() as conn, conn.transaction():
            ensure_merchant(conn, merchant_id, merchant_id)
            previous = conn.execute(
                query("set_merchant_currency"), {"merchant_id": merchant_id, "currency": code}
            ).fetchone()["previous"]
    except psycopg.errors.CheckViolation:
        raise AdreelError(
            f"{merchant_id!r} is not a merchant id (letters, digits, '_', '.', '-'; "
            "at most 64 characters)"
        ) from None
    return {"merchant_id": merchant_id, "default_currency": code, "previous": previous}


def all_merchant_ids(db: Database) -> list[str]:
    """Every merchant, for work that runs for each of them (month close)."""
    with db.connection() as conn:
        return list_merchant_ids(conn)


def check_merchant(db: Database, merchant_id: str) -> None:
    """Raise UnknownMerchant unless adreel knows the merchant."""
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
