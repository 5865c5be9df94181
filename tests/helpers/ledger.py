"""Small builders shared by the ledger tests."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from billing.ledger import Entry, Posting
from storage.merchants import ensure_merchant


def new_merchant(conn, prefix: str = "m") -> str:
    merchant_id = f"{prefix}-{uuid.uuid4().hex[:10]}"
    ensure_merchant(conn, merchant_id, merchant_id)
    return merchant_id


def charge(
    merchant_id: str, key: str, amount: str, currency: str = "USD", on: date = date(2026, 10, 5)
) -> Entry:
    value = Decimal(amount)
    return Entry(
        key,
        merchant_id,
        "usage_charge",
        on,
        (
            Posting("receivable", currency, "D", value),
            Posting("revenue_tokens", currency, "C", value),
        ),
    )


def balance_map(rows) -> dict[tuple[str, str], Decimal]:
    return {(r["kind"], r["asset"]): r["balance"] for r in rows}
