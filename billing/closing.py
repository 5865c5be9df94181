"""Closing a merchant's books for a month: the tier true-up, contributor shares, close.

Order matters: everything the month owes is posted into it first, then the month is
closed, so nothing can change it afterwards (later events adjust the next open month).
Each step is keyed by merchant and month, so running the close again posts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import psycopg

from billing.charges import commission_entry, gmv_commission
from billing.contracts import contract_at
from billing.errors import LedgerError
from billing.ledger import Entry, Posting, post, post_entries
from billing.money import convert, round_exact, round_to_minor
from billing.periods import close_period
from billing.queries import query


@dataclass
class MonthClose:
    merchant_id: str
    period: date
    true_up: dict[str, Decimal] = field(default_factory=dict)
    contributor_shares: dict[str, Decimal] = field(default_factory=dict)
    closed_now: bool = False

    def as_dict(self) -> dict:
        return {
            "merchant_id": self.merchant_id,
            "period": f"{self.period:%Y-%m}",
            "true_up": {k: str(v) for k, v in self.true_up.items()},
            "contributor_shares": {k: str(v) for k, v in self.contributor_shares.items()},
            "closed_now": self.closed_now,
        }


def last_day(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def close_books(conn: psycopg.Connection, merchant_id: str, period: date) -> MonthClose:
    """True up, share with contributors and close ``period`` for one merchant.

    The caller holds the merchant's close lock inside one transaction and has posted
    everything the month owes (``attribution.closing.close_month`` accrues first).
    """
    result = MonthClose(merchant_id, period)
    result.true_up = post_true_up(conn, merchant_id, period)
    result.contributor_shares = post_contributor_shares(conn, merchant_id, period)
    result.closed_now = bool(close_period(conn, [merchant_id], period))
    return result


def is_closed(conn: psycopg.Connection, merchant_id: str, period: date) -> bool:
    rows = conn.execute(query("closed_periods"), {"merchant_ids": [merchant_id]})
    return any(row["period"] == period for row in rows)


def post_true_up(conn: psycopg.Connection, merchant_id: str, period: date) -> dict[str, Decimal]:
    """Volume and graduated schedules: the month's commission on its total, minus accruals.

    The total is the exact net GMV of the lines ordered in the month that accrued by the
    close (each converted exactly), so the commission is rounded once. The schedule is
    the one in force on the month's last day; lines accrued in another currency (a
    contract that changed currency mid-month) are left as they accrued.
    """
    try:
        version, contract = contract_at(conn, merchant_id, last_day(period))
    except LedgerError:
        return {}
    terms = contract.gmv_share
    if terms is None or terms.schedule == "flat":
        return {}
    rows = conn.execute(query("month_attributed"), {"merchant_id": merchant_id, "period": period})
    month = [row for row in rows if row["currency"] == contract.currency]
    if not month:
        return {}
    net_gmv = sum((convert(r["net"], r["fx_rate"], r["fx_inverse"]) for r in month), Fraction(0))
    accrued = sum((r["accrued"] for r in month), Decimal(0))
    due = gmv_commission(terms, net_gmv, contract.currency)
    adjustment = due - accrued
    if adjustment:
        entry = commission_entry(
            merchant_id,
            f"trueup:{merchant_id}:{period:%Y-%m}",
            adjustment,
            contract.currency,
            last_day(period),
            {
                "period": f"{period:%Y-%m}",
                "net_gmv": str(round_exact(net_gmv, contract.currency)),
                "accrued": str(accrued),
                "due": str(due),
                "contract_version": version,
            },
            code="gmv_true_up",
        )
        post(conn, entry)
    return {contract.currency: adjustment}


def post_contributor_shares(
    conn: psycopg.Connection, merchant_id: str, period: date
) -> dict[str, Decimal]:
    """Each contributor's share of the month's revenue from their templates, as payables."""
    rows = conn.execute(
        query("revenue_by_template"), {"merchant_id": merchant_id, "period": period}
    ).fetchall()
    earned: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for row in rows:  # exact per contributor and currency, rounded once below
        revenue, share = earned.get((row["contributor"], row["currency"]), (Decimal(0),) * 2)
        earned[(row["contributor"], row["currency"])] = (
            revenue + row["revenue"],
            share + row["revenue"] * row["share"],
        )
    entries, details = [], []
    for (contributor, currency), (revenue, share) in sorted(earned.items()):
        amount = round_to_minor(share, currency)
        if amount <= 0:
            continue
        key = f"contrib:{period:%Y-%m}:{contributor}:{merchant_id}:{currency}"
        entries.append(
            Entry(
                key,
                merchant_id,
                "contributor_share",
                last_day(period),
                (
                    Posting("contributor_share", currency, "D", amount),
                    Posting("contributor_payable", currency, "C", amount),
                ),
                event={"contributor": contributor, "revenue": str(revenue)},
            )
        )
        details.append((contributor, currency, revenue, amount))
    for (contributor, currency, revenue, amount), posted in zip(
        details, post_entries(conn, entries), strict=True
    ):
        conn.execute(
            query("insert_contributor_earning"),
            {
                "period": period,
                "contributor": contributor,
                "merchant_id": merchant_id,
                "currency": currency,
                "revenue": revenue,
                "amount": amount,
                "txn_id": posted.txn_id,
            },
        )
    return {f"{c}:{ccy}": amount for c, ccy, _, amount in details}
