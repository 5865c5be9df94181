"""The append-only double-entry ledger: post entries in bulk, idempotently.

Every entry carries a caller-chosen idempotency key: posting the same key twice returns
the first transaction and writes nothing; the same key with other content is refused.
Python checks each entry first so a person gets a message naming the key, asset and
amount; PostgreSQL checks the same rules again (migrations 0002, 0009 and 0020: balance
per asset at COMMIT, once per database transaction), so no other code path can break them.
Entries built from rows already in the database go through ``post_staged`` instead: the
same rules and idempotency, set-based, without a Python object per entry.

Sign convention: an account's balance is its credits minus its debits.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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
        # hashed in a worker thread while the next three steps wait on the database
        hashes = _hash_meanwhile(fresh)
        dated = _date_in_open_periods(conn, fresh, late)
        accounts = _ensure_accounts(conn, fresh)
        created = _insert(conn, fresh, dated, accounts, hashes)
        _check_balance_now(conn)
        if len(created) < len(fresh):  # another process posted some keys meanwhile
            done |= _already_posted(conn, [e for e in fresh if e.idempotency_key not in created])
    results = {**done, **created}
    return [results[entry.idempotency_key] for entry in entries]


def _hash_meanwhile(entries: Sequence[Entry]) -> Callable[[], list[str]]:
    """Content hashes of a large batch, computed in a thread of their own while the caller
    waits on the database; the returned function waits for them. A thread per call, not a
    pool kept in the module: a forked worker process would inherit a pool without threads.
    """
    if len(entries) < _HASH_THREAD_MIN:
        hashes = [entry.content_hash() for entry in entries]
        return lambda: hashes
    pool = ThreadPoolExecutor(1, thread_name_prefix="ledger-hash")
    future = pool.submit(lambda: [entry.content_hash() for entry in entries])
    pool.shutdown(wait=False)
    return future.result


_HASH_THREAD_MIN = 2_000


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
    hashes: Callable[[], list[str]],
) -> dict[str, Posted]:
    """Write the batch: headers, then postings, each in one statement, so the statement
    triggers check and apply the whole batch at once.

    First try: headers with ids drawn from their sequence, binary COPYed straight into
    ``ledger_transactions``, then the postings; the two COPYs stream while Python encodes,
    with no round trip between them. If a key was posted meanwhile by another process,
    the unique index refuses the COPY: back out and stage the headers with
    ``ON CONFLICT DO NOTHING`` instead, which skips those keys.
    """
    if not entries:
        return {}
    ids = conn.execute(query("next_txn_ids"), {"n": len(entries)}).fetchone()["txn_ids"]
    txn_ids = {entry.idempotency_key: txn_id for entry, txn_id in zip(entries, ids, strict=True)}
    try:
        with conn.transaction():
            _copy_headers(conn, query("copy_transactions"), entries, dated, hashes, ids)
            _copy_postings(conn, entries, accounts, txn_ids)
    except psycopg.errors.UniqueViolation:
        conn.execute(query("create_transaction_staging"))
        conn.execute(query("clear_transaction_staging"))
        _copy_headers(conn, query("copy_transaction_staging"), entries, dated, hashes, ids)
        rows = conn.execute(query("insert_staged_transactions")).fetchall()
        txn_ids = {row["idempotency_key"]: row["txn_id"] for row in rows}
        _copy_postings(conn, entries, accounts, txn_ids)
    return {key: Posted(txn_id, key, True, *dated[key]) for key, txn_id in txn_ids.items()}


def _copy_headers(
    conn: psycopg.Connection,
    statement: str,
    entries: Sequence[Entry],
    dated: Mapping[str, tuple[date, date | None]],
    hashes: Callable[[], list[str]],
    ids: Sequence[int],
) -> None:
    with conn.cursor().copy(statement) as copy:
        copy.set_types(_HEADER_TYPES)
        write = copy.write_row
        for entry, content_hash, txn_id in zip(entries, hashes(), ids, strict=True):
            key = entry.idempotency_key
            effective, adjusts = dated[key]
            event = _NO_EVENT
            if entry.event:
                event = b"\x01" + json.dumps(dict(entry.event)).encode()
            write(
                (
                    txn_id,
                    key,
                    content_hash,
                    entry.merchant_id,
                    entry.code,
                    effective,
                    adjusts,
                    entry.reverses_txn_id,
                    event,
                )
            )


def _copy_postings(
    conn: psycopg.Connection,
    entries: Sequence[Entry],
    accounts: Mapping[tuple[str, str, str], int],
    txn_ids: Mapping[str, int],
) -> None:
    digits = {asset: minor_units(asset) for (_, _, asset) in accounts}
    with conn.cursor().copy(query("copy_postings")) as copy:
        copy.set_types(_POSTING_TYPES)
        write = copy.write_row
        for entry in entries:
            txn_id = txn_ids.get(entry.idempotency_key)
            if txn_id is None:
                continue  # posted meanwhile by another process; compared by the caller
            merchant = entry.merchant_id
            for p in entry.postings:
                account_id = accounts[(merchant, p.kind, p.asset)]
                write((txn_id, account_id, p.asset, digits[p.asset], p.side, p.amount))


# Column types of the binary COPYs in ledger.sql. The event is jsonb's binary form,
# encoded here: a version byte (1) and the JSON text (what psycopg's Jsonb dumper
# writes, without a json.dumps per row for the usual empty event).
_HEADER_TYPES = ["int8", "text", "text", "text", "text", "date", "date", "int8", "bytea"]
_NO_EVENT = b"\x01{}"
_POSTING_TYPES = ["int8", "int8", "text", "int2", "text", "numeric"]  # side: char(1) as text


@dataclass(frozen=True)
class BulkPosted:
    """What ``post_staged`` did; per-key results stay in ``ledger_bulk_results``."""

    created: int
    replayed: int
    moved: list[Posted]  # posted now into a later month than their own (theirs is closed)


def open_bulk(conn: psycopg.Connection) -> None:
    """Create (or empty) the scratch tables that ``post_staged`` posts from.

    Fill ``ledger_bulk_entries`` (idempotency_key, merchant_id, code, effective_date,
    event, reverses_txn_id; each key once) and ``ledger_bulk_postings`` (idempotency_key,
    kind, asset, side, amount) with INSERT … SELECT in the same transaction.
    """
    conn.execute(query("open_bulk"))


@wrap_exceptions()
def post_staged(conn: psycopg.Connection, late: str = "refuse") -> BulkPosted:
    """Post the staged entries set-based, with the rules of ``post_entries``: the same
    checks and messages, idempotency per key by the same content hash (computed by
    PostgreSQL), closed periods refused or adjusted, all written or none. For entries
    built from rows already in the database (commissions of an import): no row travels
    through Python. ``ledger_bulk_results`` then holds each key's transaction.
    """
    with conn.transaction():
        assets = [row["asset"] for row in conn.execute(query("bulk_assets"))]
        conn.execute(
            query("ensure_ledger_assets"),
            {"codes": assets, "minor_units": [minor_units(asset) for asset in assets]},
        )
        conn.execute(query("prepare_bulk_entries"))
        problem = conn.execute(query("bulk_problem"), {"refuse_late": late != "adjust"}).fetchone()
        if problem is not None:
            error = ClosedPeriodError if "which is closed" in problem["problem"] else LedgerError
            raise error(problem["problem"])
        _refuse_bulk_conflict(conn)
        conn.execute(query("ensure_bulk_accounts"))
        conn.execute(query("insert_bulk_transactions"))
        conn.execute(query("analyze_bulk_results"))
        conn.execute(query("insert_bulk_postings"))
        _check_balance_now(conn)
        _refuse_bulk_conflict(conn)  # keys another process posted meanwhile
        counts = conn.execute(query("bulk_summary")).fetchone()
        moved = [
            Posted(
                r["txn_id"], r["idempotency_key"], True, r["effective_date"], r["adjusts_period"]
            )
            for r in conn.execute(query("bulk_moved"))
        ]
    return BulkPosted(counts["created"], counts["replayed"], moved)


def _refuse_bulk_conflict(conn: psycopg.Connection) -> None:
    conflict = conn.execute(query("find_bulk_posted")).fetchone()
    if conflict is not None:
        raise IdempotencyConflict(
            f"idempotency key {conflict['idempotency_key']!r} was posted before "
            f"(transaction {conflict['txn_id']}) with different content"
        )


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
