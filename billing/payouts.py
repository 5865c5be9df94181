"""Template contributors: who earns a share of what their templates bring in, and payouts.

A share becomes a payable when the month closes (see ``closing``); a payout moves it
from ``contributor_payable`` to ``cash`` and records the payment reference, once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from decimal import Decimal

import psycopg

from billing.errors import LedgerError
from billing.ledger import Entry, Posting, post_entries
from billing.queries import query

_CONTRIBUTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def set_contributor(
    conn: psycopg.Connection, template: str, contributor: str, share: Decimal
) -> None:
    if not _CONTRIBUTOR.match(contributor):
        raise LedgerError(f"contributor {contributor!r}: use letters, digits and . _ @ -")
    if not Decimal(0) < share <= 1:
        raise LedgerError(f"share {share}: a revenue share is above 0 and at most 1 (e.g. 0.10)")
    conn.execute(
        query("set_template_contributor"),
        {"template": template, "contributor": contributor, "share": share},
    )


def owed(conn: psycopg.Connection, period: date) -> list[dict]:
    """Per contributor and currency: earned, paid and still owed for ``period``."""
    rows = conn.execute(query("contributor_earnings"), {"period": period, "contributor": None})
    totals: dict[tuple[str, str], dict] = defaultdict(
        lambda: {"earned": Decimal(0), "paid": Decimal(0), "merchants": 0, "references": set()}
    )
    for row in rows:
        total = totals[(row["contributor"], row["currency"])]
        total["earned"] += row["amount"]
        total["merchants"] += 1
        if row["paid_txn_id"]:
            total["paid"] += row["amount"]
            total["references"].add(row["paid_reference"])
    return [
        {
            "contributor": contributor,
            "currency": currency,
            "earned": t["earned"],
            "paid": t["paid"],
            "owed": t["earned"] - t["paid"],
            "merchants": t["merchants"],
            "references": sorted(t["references"]),
        }
        for (contributor, currency), t in sorted(totals.items())
    ]


def record_payout(
    conn: psycopg.Connection, period: date, contributor: str, reference: str, paid_on: date
) -> Decimal:
    """Pay everything ``contributor`` is owed for ``period``; return the amount paid now."""
    with conn.transaction():
        rows = conn.execute(
            query("contributor_earnings"), {"period": period, "contributor": contributor}
        ).fetchall()
        unpaid = [row for row in rows if row["paid_txn_id"] is None]
        if not rows:
            raise LedgerError(f"{contributor} earned nothing in {period:%Y-%m}")
        entries = [
            Entry(
                f"payout:{period:%Y-%m}:{contributor}:{row['merchant_id']}:{row['currency']}",
                row["merchant_id"],
                "contributor_payout",
                paid_on,
                (
                    Posting("contributor_payable", row["currency"], "D", row["amount"]),
                    Posting("cash", row["currency"], "C", row["amount"]),
                ),
                event={
                    "contributor": contributor,
                    "reference": reference,
                    "period": f"{period:%Y-%m}",
                },
            )
            for row in unpaid
        ]
        for row, posted in zip(unpaid, post_entries(conn, entries, late="adjust"), strict=True):
            conn.execute(
                query("mark_earning_paid"),
                {
                    "txn_id": posted.txn_id,
                    "reference": reference,
                    "period": period,
                    "contributor": contributor,
                    "merchant_id": row["merchant_id"],
                    "currency": row["currency"],
                },
            )
    return sum((row["amount"] for row in unpaid), Decimal(0))
