"""What finance and account managers do with billing, one function per operation.

The CLI, the Prefect flows and the HTTP API call these: each takes plain values and
the database, owns its transaction and raises billing's errors, so every entry point
gets the same answer for the same request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from billing.contracts import (
    Contract,
    TokenPack,
    contract_at,
    contract_from_dict,
    create_version,
    parse_contract,
)
from billing.errors import LedgerError
from billing.ledger import Posted, balances
from billing.payouts import owed, record_payout, set_contributor
from billing.periods import parse_period
from billing.queries import query
from billing.reconcile import Reconciliation, reconcile
from billing.reports import write_reconciliation, write_statement
from billing.statements import Statement, build_statement, unattributed_orders
from billing.tokens import buy_pack
from billing.verify import LedgerCheck, verify_ledger
from storage.db import Database
from storage.merchants import ensure_merchant, require_merchant

EMPTY_WALLET = {"balance": 0, "held": 0, "available": 0}


def account_balances(db: Database, merchant_id: str) -> list[dict]:
    """A merchant's accounts: balance (credits minus debits), held and available."""
    with db.connection() as conn:
        return balances(conn, merchant_id)


def wallet(db: Database, merchant_id: str) -> dict:
    """The token wallet: balance, held by renders in flight, available (zeros if none)."""
    rows = [r for r in account_balances(db, merchant_id) if r["kind"] == "wallet"]
    row = rows[0] if rows else EMPTY_WALLET
    return {k: row[k] for k in EMPTY_WALLET}


def verify(db: Database, merchant_id: str | None = None) -> LedgerCheck:
    """Recompute every balance from postings and check every transaction balances."""
    with db.connection() as conn:
        return verify_ledger(conn, merchant_id)


@dataclass(frozen=True)
class PackBought:
    posted: Posted
    pack: TokenPack
    currency: str


def buy_token_pack(
    db: Database, merchant_id: str, pack_name: str, key: str, on: date
) -> PackBought:
    """Credit the wallet with a contract pack's tokens at its price; a replay of ``key``
    changes nothing (``posted.created`` is False)."""
    with db.connection() as conn:
        version, contract = contract_at(conn, merchant_id, on)
        packs = {p.name: p for p in (contract.tokens.packs if contract.tokens else [])}
        if pack_name not in packs:
            raise LedgerError(
                f"contract v{version} of {merchant_id} has no pack {pack_name!r}; "
                f"packs: {', '.join(packs) or 'none'}"
            )
        pack = packs[pack_name]
        posted = buy_pack(
            conn,
            merchant_id,
            pack.tokens,
            pack.price,
            contract.currency,
            f"token_pack:{merchant_id}:{key}",
            on,
        )
    return PackBought(posted, pack, contract.currency)


def add_contract(db: Database, merchant_id: str, path: Path) -> tuple[int, Contract]:
    """Validate a contract file and store it as the merchant's next version (a merchant
    seen for the first time is created, in the contract's currency)."""
    return _store_contract(db, merchant_id, parse_contract(path))


def add_contract_terms(db: Database, merchant_id: str, raw: dict) -> tuple[int, Contract]:
    """``add_contract`` for a contract given as its fields (the HTTP API's JSON body)."""
    return _store_contract(db, merchant_id, contract_from_dict(raw))


def _store_contract(db: Database, merchant_id: str, contract: Contract) -> tuple[int, Contract]:
    with db.connection() as conn:
        ensure_merchant(conn, merchant_id, merchant_id, contract.currency)
        return create_version(conn, merchant_id, contract), contract


def contract_in_force(db: Database, merchant_id: str, on: date) -> tuple[int, Contract]:
    with db.connection() as conn:
        return contract_at(conn, merchant_id, on)


def statement(
    db: Database,
    merchant_id: str,
    period: str,
    as_of: date,
    out_dir: Path,
    asset_labels: dict[int, str] | None = None,
) -> tuple[Statement, dict[str, Path]]:
    """A merchant's statement for a month, written as CSV, JSON and HTML to ``out_dir``;
    ``asset_labels`` names the assets in the HTML (by product, where the caller knows)."""
    month = parse_period(period)
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        built = build_statement(conn, merchant_id, month, as_of)
    return built, write_statement(built, out_dir, asset_labels)


def unattributed(db: Database, merchant_id: str, period: str) -> list[dict]:
    """A month's orders that no asset was attributed to, with the reason for each."""
    month = parse_period(period)
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        return unattributed_orders(conn, merchant_id, month)


def reconcile_settlement(
    db: Database,
    merchant_id: str,
    period: str,
    settlement: Path,
    tolerance: Decimal,
    out_dir: Path,
    refunds_until: date | None = None,
) -> tuple[Reconciliation, dict[str, Path]]:
    """Match a settlement report against the month's attributed lines; reports written.

    adreel's amounts subtract the refunds dated up to ``refunds_until`` (default: the
    month's last day)."""
    month = parse_period(period)
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        result = reconcile(conn, merchant_id, month, settlement, tolerance, refunds_until)
    return result, write_reconciliation(result, out_dir)


def set_template_contributor(db: Database, template: str, contributor: str, share: Decimal):
    """A template's contributor earns ``share`` of its materials' revenue from next close."""
    with db.connection() as conn:
        set_contributor(conn, template, contributor, share)


@dataclass(frozen=True)
class Payouts:
    period: str
    contributors: list[dict]
    paid: Decimal | None = None  # what --pay recorded now
    # with --pay and nothing owed: the references it was paid under before (a replay)
    already_paid: list[str] | None = None


def payouts(
    db: Database,
    period: str,
    pay: str | None = None,
    reference: str | None = None,
    on: date | None = None,
) -> Payouts:
    """Earned, paid and owed per contributor for a closed month; with ``pay``, first
    record that the contributor was paid what is owed (once, under ``reference``)."""
    month = parse_period(period)
    if pay and not reference:
        raise LedgerError("paying needs a reference: the payment's, for the audit trail")
    with db.connection() as conn:
        paid = record_payout(conn, month, pay, reference, on or date.today()) if pay else None
        contributors = owed(conn, month)
    already = None
    if pay and not paid:
        already = sorted(
            {ref for r in contributors if r["contributor"] == pay for ref in r["references"]}
        )
    return Payouts(period, contributors, paid, already)


def wallet_history(db: Database, merchant_id: str) -> list[dict]:
    """The token wallet day by day: ``day``, tokens ``credited`` and ``debited`` that
    day, and the ``balance`` at its end (for the console's wallet chart)."""
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        days = conn.execute(query("wallet_by_day"), {"merchant_id": merchant_id}).fetchall()
    balance, history = 0, []
    for row in days:
        balance += row["credited"] - row["debited"]
        history.append({**row, "balance": balance})
    return history
