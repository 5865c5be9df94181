"""The append-only double-entry ledger: post entries in bulk, idempotently.

Every entry carries a caller-chosen idempotency key: posting the same key twice returns
the first transaction and writes nothing; the same key with other content is refused.
Python checks each entry first so a person gets a message naming the key, asset and
amount; PostgreSQL checks the same rules again (migrations 0002 and 0009: balance per
asset at COMMIT), so no other code path can break them.

Sign convention: an account's balance is its credits minus its debits.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import psycopg

from billing.errors import ClosedPeriodError, IdempotencyConflict, LedgerError, wrap_exceptions
from billing.money import minor_units, require_whole_minor_units
from billing.queries import query

Side = Literal["D", "C"]


@dataclass(frozen=True)
class Posting:
    kind: str  # the account's kind: wallet, receivable, deferred_revenue, revenue_raas, …
    asset: str  # ISO 4217 code or TOKEN
    side: Side
    amount: Decimal


@dataclass(frozen=True)
class Entry:
    idempotency_key: str
    merchant_id: str
    code: str  # why the transaction exists: token_pack, token_usage, raas_charge, …
    effective_date: date
    postings: tuple[Posting, ...]
    event: Mapping[str, Any] = field(default_factory=dict)
    reverses_txn_id: int | None = None

    def content_hash(self) -> str:
        """Hash of what is posted; the order of postings does not matter."""
        postings = sorted(f"{p.kind}\x1f{p.asset}\x1f{p.side}\x1f{p.amount}" for p in self.postings)
        content = "\x1e".join(
            [
                self.merchant_id,
                self.code,
                self.effective_date.isoformat(),
                str(self.reverses_txn_id),
                *postings,
            ]
        )
        return hashlib.sha256(content.encode()).hexdigest()


@dataclass(frozen=True)
class Posted:
    txn_id: int
    idempotency_key: str
    created: bool  # False: the key was posted before and nothing changed
    effective_date: date
    adjusts_period: date | None = None


def post(conn: psycopg.Connection, entry: Entry, late: str = "refuse") -> Posted:
    return post_entries(conn, [entry], late=late)[0]


@wrap_exceptions()
def post_entries(
    conn: psycopg.Connection, entries: Sequence[Entry], late: str = "refuse"
) -> list[Posted]:
    """Post entries in one database transaction; all are written or none.

    ``late``: what to do with an entry dated in a closed period. ``refuse`` raises;
    ``adjust`` posts it on the first day of the next open month, naming the period it
    belongs to in ``adjusts_period``.
    """
    unique = _dedupe(entries)
    for entry in unique:
        _check_entry(entry)
    with conn.transaction():
        done = _already_posted(conn, unique)
        fresh = [entry for entry in unique if entry.idempotency_key not in done]
        dated = _date_in_open_periods(conn, fresh, late)
        accounts = _ensure_accounts(conn, fresh)
        created = _insert(conn, fresh, dated, accounts)
        _check_balance_now(conn)
        if len(created) < len(fresh):  # another process posted some keys meanwhile
            done |= _already_posted(conn, [e for e in fresh if e.idempotency_key not in created])
    results = {**done, **created}
    return [results[entry.idempotency_key] for entry in entries]


def _dedupe(entries: Sequence[Entry]) -> list[Entry]:
    by_key: dict[str, Entry] = {}
    for entry in entries:
        seen = by_key.setdefault(entry.idempotency_key, entry)
        if seen is not entry and seen.content_hash() != entry.content_hash():
            raise IdempotencyConflict(
                f"idempotency key {entry.idempotency_key!r} is used twice with different content"
            )
    return list(by_key.values())


def _check_entry(entry: Entry) -> None:
    key = entry.idempotency_key
    if len(entry.postings) < 2:
        raise LedgerError(f"{key}: a transaction needs at least two postings")
    net: dict[str, Decimal] = defaultdict(Decimal)
    for posting in entry.postings:
        if not isinstance(posting.amount, Decimal):
            raise LedgerError(f"{key}: amount {posting.amount!r} must be a Decimal")
        if posting.amount <= 0:
            raise LedgerError(f"{key}: amount {posting.amount} must be positive")
        if posting.side not in ("D", "C"):
            raise LedgerError(f"{key}: side {posting.side!r} must be D or C")
        require_whole_minor_units(posting.amount, posting.asset, key)
        net[posting.asset] += posting.amount if posting.side == "C" else -posting.amount
    unbalanced = {asset: total for asset, total in net.items() if total}
    if unbalanced:
        asset, total = next(iter(unbalanced.items()))
        raise LedgerError(f"{key}: postings do not balance in {asset} (off by {total})")


def _check_balance_now(conn: psycopg.Connection) -> None:
    """Run the deferred balance triggers now, not at the caller's COMMIT.

    The caller's transaction may commit outside billing/; checking here makes a refusal
    a LedgerError raised by this call (see ``wrap_exceptions``).
    """
    conn.execute(query("check_ledger_balance_now"))
    conn.execute(query("check_ledger_balance_at_commit"))


def _already_posted(conn: psycopg.Connection, entries: Sequence[Entry]) -> dict[str, Posted]:
    if not entries:
        return {}
    by_key = {entry.idempotency_key: entry for entry in entries}
    rows = conn.execute(query("find_transactions_by_key"), {"keys": list(by_key)}).fetchall()
    found = {}
    for row in rows:
        key = row["idempotency_key"]
        if row["content_hash"] != by_key[key].content_hash():
            raise IdempotencyConflict(
                f"idempotency key {key!r} was posted before (transaction {row['txn_id']}) "
                "with different content"
            )
        found[key] = Posted(row["txn_id"], key, False, row["effective_date"], row["adjusts_period"])
    return found


def _date_in_open_periods(
    conn: psycopg.Connection, entries: Sequence[Entry], late: str
) -> dict[str, tuple[date, date | None]]:
    """Effective date and adjusted period per key, after the closed-period rule."""
    merchants = sorted({entry.merchant_id for entry in entries})
    closed: dict[str, set[date]] = defaultdict(set)
    if merchants:
        for row in conn.execute(query("closed_periods"), {"merchant_ids": merchants}):
            closed[row["merchant_id"]].add(row["period"])
    dated = {}
    for entry in entries:
        month = entry.effective_date.replace(day=1)
        if month not in closed[entry.merchant_id]:
            dated[entry.idempotency_key] = (entry.effective_date, None)
            continue
        if late != "adjust":
            raise ClosedPeriodError(
                f"{entry.idempotency_key}: {entry.effective_date} falls in "
                f"{month:%Y-%m}, which is closed for merchant {entry.merchant_id}"
            )
        open_month = month
        while open_month in closed[entry.merchant_id]:
            open_month = _next_month(open_month)
        dated[entry.idempotency_key] = (open_month, month)
    return dated


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _ensure_accounts(
    conn: psycopg.Connection, entries: Sequence[Entry]
) -> dict[tuple[str, str, str], int]:
    wanted = sorted({(e.merchant_id, p.kind, p.asset) for e in entries for p in e.postings})
    if not wanted:
        return {}
    assets = sorted({asset for _, _, asset in wanted})
    conn.execute(
        query("ensure_ledger_assets"),
        {"codes": assets, "minor_units": [minor_units(asset) for asset in assets]},
    )
    columns = {
        "merchant_ids": [w[0] for w in wanted],
        "kinds": [w[1] for w in wanted],
        "assets": [w[2] for w in wanted],
    }
    conn.execute(query("ensure_ledger_accounts"), columns)
    rows = conn.execute(query("find_ledger_accounts"), columns)
    return {(r["merchant_id"], r["kind"], r["asset"]): r["account_id"] for r in rows}


def _insert(
    conn: psycopg.Connection,
    entries: Sequence[Entry],
    dated: Mapping[str, tuple[date, date | None]],
    accounts: Mapping[tuple[str, str, str], int],
) -> dict[str, Posted]:
    """COPY the batch into a staging table, then one set-based INSERT per table.

    Postings are COPied straight into ``ledger_postings``: one statement, so the
    statement-level trigger checks and applies the whole batch at once.
    """
    if not entries:
        return {}
    conn.execute(query("create_transaction_staging"))
    conn.execute(query("clear_transaction_staging"))
    with conn.cursor().copy(query("copy_transaction_staging")) as copy:
        for entry in entries:
            effective, adjusts = dated[entry.idempotency_key]
            copy.write_row(
                (
                    entry.idempotency_key,
                    entry.content_hash(),
                    entry.merchant_id,
                    entry.code,
                    effective,
                    adjusts,
                    entry.reverses_txn_id,
                    json.dumps(dict(entry.event)) if entry.event else "{}",
                )
            )
    rows = conn.execute(query("insert_staged_transactions")).fetchall()
    txn_ids = {row["idempotency_key"]: row["txn_id"] for row in rows}
    with conn.cursor().copy(query("copy_postings")) as copy:
        for entry in entries:
            txn_id = txn_ids.get(entry.idempotency_key)
            if txn_id is None:
                continue  # posted meanwhile by another process; compared by the caller
            for posting in entry.postings:
                account_id = accounts[(entry.merchant_id, posting.kind, posting.asset)]
                copy.write_row(
                    (
                        txn_id,
                        account_id,
                        posting.asset,
                        minor_units(posting.asset),
                        posting.side,
                        posting.amount,
                    )
                )
    return {key: Posted(txn_id, key, True, *dated[key]) for key, txn_id in txn_ids.items()}


def reverse(
    conn: psycopg.Connection, txn_id: int, idempotency_key: str, effective_date: date, reason: str
) -> Posted:
    """Post the mirror image of a transaction, naming it: the only way to correct one."""
    rows = conn.execute(query("transaction_postings"), {"txn_id": txn_id}).fetchall()
    if not rows:
        raise LedgerError(f"transaction {txn_id} does not exist")
    flipped = {"D": "C", "C": "D"}
    entry = Entry(
        idempotency_key=idempotency_key,
        merchant_id=rows[0]["merchant_id"],
        code=f"reversal:{rows[0]['code']}",
        effective_date=effective_date,
        postings=tuple(
            Posting(r["kind"], r["asset"], flipped[r["side"]], r["amount"]) for r in rows
        ),
        event={"reason": reason},
        reverses_txn_id=txn_id,
    )
    return post(conn, entry, late="adjust")  # a second reversal: LedgerError, see errors.py


def balances(conn: psycopg.Connection, merchant_id: str) -> list[dict[str, Any]]:
    return conn.execute(query("account_balances"), {"merchant_id": merchant_id}).fetchall()
