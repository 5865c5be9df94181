"""``adreel ledger verify``: recompute everything the ledger keeps, and compare."""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from billing.queries import query


@dataclass(frozen=True)
class LedgerCheck:
    balance_mismatches: list[dict] = field(default_factory=list)
    bad_transactions: list[dict] = field(default_factory=list)
    hold_mismatches: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.balance_mismatches or self.bad_transactions or self.hold_mismatches)


def verify_ledger(conn: psycopg.Connection, merchant_id: str | None = None) -> LedgerCheck:
    """Every balance against its postings, every transaction's balance, every wallet's holds."""
    scope = {"merchant_id": merchant_id}
    return LedgerCheck(
        balance_mismatches=conn.execute(query("verify_balances"), scope).fetchall(),
        bad_transactions=conn.execute(query("verify_transactions"), scope).fetchall(),
        hold_mismatches=conn.execute(query("verify_holds"), scope).fetchall(),
    )
