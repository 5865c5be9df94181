"""Reconciliation: an outside settlement report against adreel's attributed lines.

A settlement row names an order, optionally a line, an amount and a currency. A row
with a line id is matched to that line; a row without one to the whole order (the sum
of its lines). adreel's amount is the line's net GMV after the refunds dated (UTC) on or
before ``refunds_until`` (by default the month's last day, so running a closed month's
reconciliation again later gives the same answer), in the order's currency, computed
exactly and rounded half-even to its minor unit once. A pair matches when the
currencies agree and the amounts differ by at most the tolerance; otherwise it is a
mismatch. Lines no row names are "only in adreel", rows that name nothing adreel
attributed are "only in the settlement".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import psycopg

from billing.feeds import Column, FeedSpec, read_feed
from billing.money import round_exact, round_to_minor
from billing.queries import query

SETTLEMENT = FeedSpec(
    "settlement",
    (
        Column("order_id"),
        Column("line_id", required=False),
        Column("amount", "decimal"),
        Column("currency", "currency"),
    ),
)
OUTCOMES = ("matched", "mismatched", "only_adreel", "only_settlement")


@dataclass
class Reconciliation:
    merchant_id: str
    period: date
    tolerance: Decimal
    refunds_until: date
    rows: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(row["outcome"] == "matched" for row in self.rows)

    def totals(self) -> dict[str, dict]:
        """Per outcome: rows, and adreel's and the settlement's amounts per currency."""
        totals = {
            o: {"rows": 0, "adreel": defaultdict(Decimal), "settlement": defaultdict(Decimal)}
            for o in OUTCOMES
        }
        for row in self.rows:
            total = totals[row["outcome"]]
            total["rows"] += 1
            if row["adreel_amount"] is not None:
                total["adreel"][row["adreel_currency"]] += row["adreel_amount"]
            if row["settlement_amount"] is not None:
                total["settlement"][row["settlement_currency"]] += row["settlement_amount"]
        return {
            outcome: {
                "rows": t["rows"],
                "adreel": {c: minor_text(a, c) for c, a in sorted(t["adreel"].items())},
                "settlement": {c: minor_text(a, c) for c, a in sorted(t["settlement"].items())},
            }
            for outcome, t in totals.items()
        }

    def as_dict(self) -> dict:
        return {
            "merchant_id": self.merchant_id,
            "period": f"{self.period:%Y-%m}",
            "tolerance": str(self.tolerance),
            "refunds_until": self.refunds_until.isoformat(),
            "ok": self.ok,
            "totals": self.totals(),
            "rows": self.text_rows(),
        }

    def text_rows(self) -> list[dict]:
        """The rows with every amount in its currency's minor units (for CSV and JSON)."""
        return [
            {
                **row,
                "adreel_amount": minor_text(row["adreel_amount"], row["adreel_currency"]),
                "settlement_amount": minor_text(
                    row["settlement_amount"], row["settlement_currency"]
                ),
                "difference": minor_text(row["difference"], row["adreel_currency"]),
            }
            for row in self.rows
        ]


def minor_text(amount: Decimal | None, currency: str | None) -> str:
    """``15.30`` for 15.300000000000 USD, ``0.00`` for 0E-12; exact digits beyond the
    minor unit (a settlement's 15.305) are kept rather than rounded away."""
    if amount is None or currency is None:
        return ""
    rounded = round_to_minor(amount, currency)
    return str(rounded if rounded == amount else amount.normalize())


def last_day(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def reconcile(
    conn: psycopg.Connection,
    merchant_id: str,
    period: date,
    settlement: Path,
    tolerance: Decimal,
    refunds_until: date | None = None,
) -> Reconciliation:
    refunds_until = refunds_until or last_day(period)
    feed = read_feed(settlement, SETTLEMENT).table.to_pylist()
    params = {"merchant_id": merchant_id, "period": period, "refunds_until": refunds_until}
    lines = [_net_after_refunds(line) for line in conn.execute(query("reconcilable_lines"), params)]
    by_line = {(line["order_id"], line["line_id"]): line for line in lines}
    by_order: dict[str, list[dict]] = defaultdict(list)
    for line in lines:
        by_order[line["order_id"]].append(line)
    result = Reconciliation(merchant_id, period, tolerance, refunds_until)
    claimed: set[tuple[str, str]] = set()
    for row in feed:
        ours = _ours(row, by_line, by_order)
        claimed.update((line["order_id"], line["line_id"]) for line in ours)
        result.rows.append(_compare(row, ours, tolerance))
    for key, line in by_line.items():
        if key not in claimed:
            amount = round_exact(line["exact"], line["currency"])
            result.rows.append(
                _row(
                    "only_adreel",
                    line["order_id"],
                    line["line_id"],
                    amount,
                    line["currency"],
                    None,
                    None,
                )
            )
    return result


def _net_after_refunds(line: dict) -> dict:
    """The line with ``exact``: its net amount after refunds, as a fraction."""
    net = Fraction(line["quantity"] * line["unit_price"] - line["discount"])
    refunded = line["refunded_quantity"] * net / line["quantity"]
    return {**line, "exact": net - refunded - Fraction(line["refunded_amount"])}


def _ours(row: dict, by_line: dict, by_order: dict) -> list[dict]:
    if row["line_id"] is not None:
        line = by_line.get((row["order_id"], row["line_id"]))
        return [line] if line else []
    return by_order.get(row["order_id"], [])


def _compare(row: dict, ours: list[dict], tolerance: Decimal) -> dict:
    theirs = (Decimal(row["amount"]), row["currency"])
    if not ours:
        return _row("only_settlement", row["order_id"], row["line_id"], None, None, *theirs)
    currency = ours[0]["currency"]
    amount = round_exact(sum((line["exact"] for line in ours), Fraction(0)), currency)
    same = currency == theirs[1] and abs(amount - theirs[0]) <= tolerance
    return _row(
        "matched" if same else "mismatched",
        row["order_id"],
        row["line_id"],
        amount,
        currency,
        *theirs,
    )


def _row(outcome, order_id, line_id, ours, our_ccy, theirs, their_ccy) -> dict:
    same_currency = ours is not None and theirs is not None and our_ccy == their_ccy
    difference = ours - theirs if same_currency else None
    return {
        "outcome": outcome,
        "order_id": order_id,
        "line_id": line_id or "",
        "adreel_amount": ours,
        "adreel_currency": our_ccy,
        "settlement_amount": theirs,
        "settlement_currency": their_ccy,
        "difference": difference,
    }
