"""A merchant's monthly statement, read from the ledger.

The statement is the month's movements on the merchant's receivable account, grouped
by what caused them; its total is exactly the sum of those postings, so it always
agrees with the ledger. Commission still inside its lock period is shown as pending and
left out of what is due now; late events of a closed month appear in the first open
month's statement, where they net against it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal

import psycopg

from billing.money import round_to_minor
from billing.queries import query

KINDS = {
    "token_pack": "token_charges",
    "raas_charge": "raas_charges",
    "gmv_commission": "accrued_commissions",
    "gmv_clawback": "clawbacks",
    "gmv_true_up": "tier_true_up",
}
ORDER = [*KINDS.values(), "credits", "other_charges"]
LABELS = {
    "token_charges": "Token packs",
    "raas_charges": "RaaS: accepted ad materials",
    "accrued_commissions": "Commission on attributed GMV",
    "clawbacks": "Clawbacks for refunds",
    "tier_true_up": "Tier true-up",
    "credits": "Credits and reversals",
    "other_charges": "Other charges",
}


@dataclass
class Statement:
    merchant_id: str
    period: date
    as_of: date
    # currency -> kind -> amount
    totals: dict[str, dict[str, Decimal]] = field(default_factory=dict)
    pending: dict[str, Decimal] = field(default_factory=dict)
    daily: list[dict] = field(default_factory=list)
    unattributed: list[dict] = field(default_factory=list)

    def total(self, currency: str) -> Decimal:
        return sum(self.totals[currency].values(), Decimal(0))

    def due_now(self, currency: str) -> Decimal:
        return self.total(currency) - self.pending.get(currency, Decimal(0))

    def top_assets(self, limit: int = 10) -> list[dict]:
        by_asset: dict[tuple[int, str], dict] = {}
        for row in self.daily:
            key = (row["asset_id"], row["currency"])
            entry = by_asset.setdefault(
                key,
                {
                    "asset_id": row["asset_id"],
                    "currency": row["currency"],
                    "net_gmv": Decimal(0),
                    "commission": Decimal(0),
                },
            )
            entry["net_gmv"] += row["net_gmv"]
            entry["commission"] += row["commission"]
        return sorted(by_asset.values(), key=lambda a: (-a["net_gmv"], a["asset_id"]))[:limit]

    def as_dict(self) -> dict:
        def text(amount: Decimal | int, currency: str) -> str:
            return amount_text(amount, currency)

        return {
            "merchant_id": self.merchant_id,
            "period": f"{self.period:%Y-%m}",
            "as_of": self.as_of.isoformat(),
            "currencies": {
                currency: {
                    **{kind: text(self.totals[currency].get(kind, 0), currency) for kind in ORDER},
                    "total": text(self.total(currency), currency),
                    "pending_commission": text(self.pending.get(currency, 0), currency),
                    "due_now": text(self.due_now(currency), currency),
                }
                for currency in sorted(self.totals)
            },
            "unattributed": [
                {
                    **order,
                    "ordered_at": order["ordered_at"].isoformat(),
                    "net": str(order["net"]),
                }
                for order in self.unattributed
            ],
        }


def amount_text(amount: Decimal | int, currency: str) -> str:
    """An amount with exactly its currency's minor-unit digits (10 -> "10.00")."""
    return str(round_to_minor(Decimal(amount), currency))


def kind_of(code: str, amount: Decimal) -> str:
    if code in KINDS:
        return KINDS[code]
    if code.startswith("reversal:") or amount < 0:
        return "credits"
    return "other_charges"


def build_statement(
    conn: psycopg.Connection, merchant_id: str, period: date, as_of: date
) -> Statement:
    params = {"merchant_id": merchant_id, "period": period, "as_of": as_of}
    statement = Statement(merchant_id, period, as_of)
    totals: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in conn.execute(query("statement_totals"), params):
        totals[row["currency"]][kind_of(row["code"], row["amount"])] += row["amount"]
    statement.totals = {ccy: dict(kinds) for ccy, kinds in totals.items()}
    for row in conn.execute(query("statement_pending_commission"), params):
        statement.pending[row["currency"]] = row["amount"]
    statement.daily = conn.execute(query("statement_daily_by_asset"), params).fetchall()
    statement.unattributed = unattributed_orders(conn, merchant_id, period)
    return statement


def unattributed_orders(conn: psycopg.Connection, merchant_id: str, period: date) -> list[dict]:
    """Orders of the month no asset was attributed to, each with the reason."""
    rows = conn.execute(
        query("unattributed_orders"), {"merchant_id": merchant_id, "period": period}
    ).fetchall()
    return [
        {
            **row,
            "ordered_at": row["ordered_at"].astimezone(UTC),
            "currency": row["currency"].strip(),
            "net": round_to_minor(row["net"], row["currency"].strip()),
        }
        for row in rows
    ]
