"""The append-only double-entry ledger: post entries in bulk, idempotently.

Every entry carries a caller-chosen idempotency key: posting the same key twice returns
the first transaction and writes nothing; the same key with other content is refused.
Python checks each entry first so a person gets a message naming the key, asset and
amount; PostgreSQL checks the same rules again (migrations 0002, 0009, 0020 and 0023:
balance per asset at COMMIT, references per statement), so no other code path can break
them.
Entries built from rows already in the database go through ``post_staged`` instead: the
same rules and idempotency, set-based, without a Python object per entry.

Sign convention: an account's balance is its credits minus its debits.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
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
        """Hash of what is posted; the order of postings does not matter.

        SHA-256 of the merchant, code, ISO date, reversed id (``None`` if none) and each
        posting's ``kind\x1fasset\x1fside\x1famount``, sorted, all joined by ``\x1e``;
        ``prepare_bulk_entries`` computes the same in SQL.
        """
        postings = [f"{p.kind}\x1f{p.asset}\x1f{p.side}\x1f{p.amount}" for p in self.postings]
        postings.sort()
        head = (self.merchant_id, self.code, str(self.effective_date), str(self.reverses_txn_id))
        content = "\x1e".join((*head, *postings))
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

    Keys are not looked up before writing: the unique index on keys refuses a key posted
    before, and ``_insert`` then skips it, to be looked up and compared after (a batch
    of new keys, the usual one, costs no look-up). Only a batch with an entry in a
    closed period is looked up first, as that entry is refused only if it is new. Each
    entry is checked as its postings are encoded for COPY (see ``_copy_postings``), while
    PostgreSQL writes the postings before it: that is when Python would otherwise wait,
    as PostgreSQL takes longer to write postings than Python to encode them, and the
    other way round for headers. The first entry refused, in order, raises, and nothing
    of the batch is written (an unknown currency is refused before that, as the batch's
    accounts are opened).
    """
    unique = _dedupe(entries)
    with conn.transaction():
        closed = _closed_periods(conn, unique)
        done: dict[str, Posted] = {}
        if _any_refused(unique, closed, late):  # unless it was posted before: look first
            for entry in unique:
                _check_entry(entry)
            done = _already_posted(conn, unique)
        fresh = [entry for entry in unique if entry.idempotency_key not in done]
        moved = _date_in_open_periods(fresh, closed, late)
        created = _insert(conn, fresh, moved)
        _check_balance_now(conn)
        if len(created) < len(fresh):  # posted before, or meanwhile by another process
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
    """Refuse an entry the ledger cannot post, naming its key; the first problem found in
    posting order, as PostgreSQL would refuse it later with a less helpful message."""
    key = entry.idempotency_key
    postings = entry.postings
    if len(postings) < 2:
        raise LedgerError(f"{key}: a transaction needs at least two postings")
    for posting in postings:
        amount = posting.amount
        if not isinstance(amount, Decimal):
            raise LedgerError(f"{key}: amount {amount!r} must be a Decimal")
        if amount <= 0:
            raise LedgerError(f"{key}: amount {amount} must be positive")
        if posting.side != "D" and posting.side != "C":
            raise LedgerError(f"{key}: side {posting.side!r} must be D or C")
        if amount.quantize(_minor_unit(posting.asset), ROUND_HALF_EVEN) != amount:
            require_whole_minor_units(amount, posting.asset, key)  # raises, with the message
    first, second = postings[0], postings[1]
    if (
        len(postings) == 2  # the usual entry: one debit and one credit of the same amount
        and first.asset == second.asset
        and first.side != second.side
        and first.amount == second.amount
    ):
        return
    net: dict[str, Decimal] = defaultdict(Decimal)
    for posting in postings:
        net[posting.asset] += posting.amount if posting.side == "C" else -posting.amount
    unbalanced = {asset: total for asset, total in net.items() if total}
    if unbalanced:
        asset, total = next(iter(unbalanced.items()))
        raise LedgerError(f"{key}: postings do not balance in {asset} (off by {total})")


@cache
def _minor_unit(asset: str) -> Decimal:
    """One minor unit of ``asset`` (0.01 for USD), as ``billing.money.round_to_minor``
    quantizes to; refuses an unknown asset with its message."""
    return Decimal(1).scaleb(-minor_units(asset))


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


def _closed_periods(conn: psycopg.Connection, entries: Sequence[Entry]) -> dict[str, set[date]]:
    """The closed months of the entries' merchants (one query per batch)."""
    merchants = sorted({entry.merchant_id for entry in entries})
    closed: dict[str, set[date]] = defaultdict(set)
    if merchants:
        for row in conn.execute(query("closed_periods"), {"merchant_ids": merchants}):
            closed[row["merchant_id"]].add(row["period"])
    return closed


def _any_refused(entries: Sequence[Entry], closed: Mapping[str, set[date]], late: str) -> bool:
    """Whether ``late="refuse"`` refuses some entry, if it is new."""
    return (
        bool(closed)
        and late != "adjust"
        and any(
            entry.effective_date.replace(day=1) in closed.get(entry.merchant_id, ())
            for entry in entries
        )
    )


def _date_in_open_periods(
    entries: Sequence[Entry], closed: Mapping[str, set[date]], late: str
) -> dict[str, tuple[date, date]]:
    """Entries dated in a closed period, by key: the date each posts on and the period it
    adjusts (``late="adjust"``); with ``refuse`` the first one raises. The rest post on
    their own date."""
    if not closed:
        return {}
    moved = {}
    for entry in entries:
        month = entry.effective_date.replace(day=1)
        shut = closed.get(entry.merchant_id, ())
        if month not in shut:
            continue
        if late != "adjust":
            raise ClosedPeriodError(
                f"{entry.idempotency_key}: {entry.effective_date} falls in "
                f"{month:%Y-%m}, which is closed for merchant {entry.merchant_id}"
            )
        open_month = month
        while open_month in shut:
            open_month = _next_month(open_month)
        moved[entry.idempotency_key] = (open_month, month)
    return moved


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _ensure_accounts(
    conn: psycopg.Connection, wanted: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], int]:
    """Account ids for (merchant, kind, asset) triples, opening those not open yet."""
    if not wanted:
        return {}
    triples = sorted(wanted)
    assets = sorted({asset for _, _, asset in triples})
    conn.execute(
        query("ensure_ledger_assets"),
        {"codes": assets, "minor_units": [minor_units(asset) for asset in assets]},
    )
    columns = {
        "merchant_ids": [w[0] for w in triples],
        "kinds": [w[1] for w in triples],
        "assets": [w[2] for w in triples],
    }
    conn.execute(query("ensure_ledger_accounts"), columns)
    rows = conn.execute(query("find_ledger_accounts"), columns)
    return {(r["merchant_id"], r["kind"], r["asset"]): r["account_id"] for r in rows}


def _insert(
    conn: psycopg.Connection, entries: Sequence[Entry], moved: Mapping[str, tuple[date, date]]
) -> dict[str, Posted]:
    """Write the batch: headers, then postings, each in one statement, so the statement
    triggers check and apply the whole batch at once.

    First try: headers with ids drawn from their sequence, COPYed straight into
    ``ledger_transactions``, then the postings; each COPY streams while Python checks,
    hashes and encodes, so PostgreSQL writes one part of the batch while Python prepares
    the next. If a key was posted before, or meanwhile by another process, the unique
    index refuses the COPY: back out and stage the headers with ``ON CONFLICT DO
    NOTHING`` instead, which skips those keys.
    """
    if not entries:
        return {}
    ids = conn.execute(query("next_txn_ids"), {"n": len(entries)}).fetchone()["txn_ids"]
    txn_ids = dict(zip((entry.idempotency_key for entry in entries), ids, strict=True))
    hashes: list[str] = []
    wanted = {(e.merchant_id, p.kind, p.asset) for e in entries for p in e.postings}
    try:
        with conn.transaction():
            _copy_headers(conn, query("copy_transactions"), entries, moved, hashes, ids)
            accounts = _ensure_accounts(conn, wanted)
            return _copy_postings(conn, entries, moved, accounts, txn_ids)
    except psycopg.errors.UniqueViolation:
        conn.execute(query("create_transaction_staging"))
        conn.execute(query("clear_transaction_staging"))
        _copy_headers(conn, query("copy_transaction_staging"), entries, moved, hashes, ids)
        rows = conn.execute(query("insert_staged_transactions")).fetchall()
        txn_ids = {row["idempotency_key"]: row["txn_id"] for row in rows}
        accounts = _ensure_accounts(conn, wanted)
        return _copy_postings(conn, entries, moved, accounts, txn_ids)


def _copy_headers(
    conn: psycopg.Connection,
    statement: str,
    entries: Sequence[Entry],
    moved: Mapping[str, tuple[date, date]],
    hashes: list[str],
    ids: Sequence[int],
) -> None:
    """COPY the headers; their content hashes are computed here on the first call (kept
    in ``hashes`` for a second)."""
    known = list(hashes) if len(hashes) == len(entries) else None
    hashes.clear()
    escape = _needs_escape(e.idempotency_key + e.merchant_id + e.code for e in entries)
    with conn.cursor().copy(statement) as copy:
        lines: list[str] = []
        for i, (entry, txn_id) in enumerate(zip(entries, ids, strict=True)):
            content_hash = known[i] if known else entry.content_hash()
            hashes.append(content_hash)
            key, merchant, code = entry.idempotency_key, entry.merchant_id, entry.code
            effective, adjusts = moved.get(key) or (entry.effective_date, _NULL)
            if escape:
                key, merchant, code = _escaped(key), _escaped(merchant), _escaped(code)
            reverses = _NULL if entry.reverses_txn_id is None else entry.reverses_txn_id
            event = _escaped(json.dumps(dict(entry.event))) if entry.event else "{}"
            lines.append(
                f"{txn_id}\t{key}\t{content_hash}\t{merchant}\t{code}\t{effective}\t"
                f"{adjusts}\t{reverses}\t{event}\n"
            )
            if len(lines) == _COPY_CHUNK:
                copy.write("".join(lines))
                lines.clear()
        copy.write("".join(lines))


def _copy_postings(
    conn: psycopg.Connection,
    entries: Sequence[Entry],
    moved: Mapping[str, tuple[date, date]],
    accounts: Mapping[tuple[str, str, str], int],
    txn_ids: Mapping[str, int],
) -> dict[str, Posted]:
    """COPY the postings of the entries that have a transaction id, checking every entry
    first; returns what was posted, built while PostgreSQL ingests."""
    # account, asset and minor units: the same few columns for many postings
    columns = {
        (merchant, kind, asset): f"{account_id}\t{asset}\t{minor_units(asset)}"
        for (merchant, kind, asset), account_id in accounts.items()
    }
    posted = {}
    with conn.cursor().copy(query("copy_postings")) as copy:
        lines: list[str] = []
        for entry in entries:
            _check_entry(entry)  # the first refused aborts the COPY and raises
            key = entry.idempotency_key
            txn_id = txn_ids.get(key)
            if txn_id is None:
                continue  # posted before or meanwhile by another process: compared later
            merchant = entry.merchant_id
            for p in entry.postings:
                account = columns[(merchant, p.kind, p.asset)]
                lines.append(f"{txn_id}\t{account}\t{p.side}\t{p.amount!s}\n")
            if len(lines) >= _COPY_CHUNK:
                copy.write("".join(lines))
                lines.clear()
            posted[key] = Posted(txn_id, key, True, *(moved.get(key) or (entry.effective_date,)))
        copy.write("".join(lines))
    return posted


def _needs_escape(texts: Iterable[str]) -> bool:
    """Whether any of these strings has a character that COPY's text format escapes
    (checked once per batch: keys, merchants and codes rarely have one)."""
    return _COPY_SPECIAL.search("".join(texts)) is not None


def _escaped(text: str) -> str:
    """``text`` as one field of COPY's text format."""
    for char, escape in _COPY_ESCAPES:
        text = text.replace(char, escape)
    return text


# The COPYs in ledger.sql use the text format: lines built by f-strings and joined cost
# Python a fraction of psycopg's row-by-row binary encoding, and PostgreSQL about the
# same. Every column is a number, a date, an asset code, D or C, a hex hash, or one of
# the strings escaped above; amounts are Decimals, whose str() numeric reads exactly.
_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_COPY_CHUNK = 2_000  # rows per write: PostgreSQL ingests a chunk while Python builds the next


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
