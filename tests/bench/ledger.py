"""bench ledger: post N usage charges (two postings each) with balances maintained.

Baseline, in the same run: PostgreSQL COPY of the same number of rows (one row per
charge: key, merchant, date, accounts, amount) into a plain table with no constraints.
Floor, reported in ``extra`` (not used for the ratio): the headers and postings the
ledger wrote, read back and binary COPYed again, batch by batch with a COMMIT each as
the ledger commits, into tables made ``LIKE`` the ledger's (same indexes and defaults;
no triggers, no CHECK constraints): what writing the rows the ledger keeps costs on this
server, whatever the code around it. The benchmark makes a database of its own on the
configured server and drops it after, because the ledger is append-only.
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import click
import psycopg

from billing.ledger import Entry, Posting, post_entries
from flows.progress import progress_bars, tracker
from storage.merchants import ensure_merchant
from tests.bench._scratch import scratch_database


@click.command()
@click.option("--charges", default=1_000_000, show_default=True, help="Usage charges to post.")
@click.option("--batch", default=10_000, show_default=True, help="Charges per posting call.")
def main(charges: int, batch: int) -> dict:
    with scratch_database() as db, db.connection() as conn:
        ensure_merchant(conn, "bench", "bench")
        conn.commit()
        with progress_bars(enabled=True):
            seconds = _post_charges(conn, charges, batch)
            baseline = _copy_baseline(conn, charges)
            floor = _copy_floor(conn, charges, batch)
    return {
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline, 3),
        "throughput": round(charges / seconds),
        "unit": "transactions/s",
        "extra": {
            "charges": charges,
            "postings": 2 * charges,
            "batch": batch,
            "baseline_rows_per_s": round(charges / baseline),
            "floor_seconds": round(floor, 3),
            "floor_ratio": round(floor / baseline, 3),
            "above_floor": round(seconds / floor, 3),
        },
    }


def _charge(i: int) -> Entry:
    amount = Decimal(i % 997 + 1).scaleb(-2)
    return Entry(
        f"usage:{i}",
        "bench",
        "token_usage",
        date(2026, 10, 1 + i % 28),
        (
            Posting("receivable", "USD", "D", amount),
            Posting("revenue_tokens", "USD", "C", amount),
        ),
    )


def _post_charges(conn: psycopg.Connection, charges: int, batch: int) -> float:
    advance = tracker("posting charges", charges)
    started = time.perf_counter()
    for start in range(0, charges, batch):
        entries = [_charge(i) for i in range(start, min(start + batch, charges))]
        post_entries(conn, entries)
        conn.commit()
        advance(len(entries))
    return time.perf_counter() - started


def _copy_baseline(conn: psycopg.Connection, charges: int) -> float:
    conn.execute(
        """CREATE TABLE plain_charges (key text, merchant_id text, effective_date date,
           debit text, credit text, amount numeric)"""
    )
    conn.commit()
    advance = tracker("COPY baseline", charges)
    started = time.perf_counter()
    with conn.cursor().copy("COPY plain_charges FROM STDIN") as copy:
        for i in range(charges):
            entry = _charge(i)
            copy.write_row(
                (
                    entry.idempotency_key,
                    "bench",
                    entry.effective_date,
                    "receivable",
                    "revenue_tokens",
                    entry.postings[0].amount,
                )
            )
            if i % 10_000 == 0:
                advance(10_000)
    conn.commit()
    return time.perf_counter() - started


_HEADERS = """txn_id, idempotency_key, content_hash, merchant_id, code, effective_date,
              adjusts_period, reverses_txn_id, event"""
_POSTINGS = "txn_id, account_id, asset, minor_units, side, amount"


def _copy_floor(conn: psycopg.Connection, charges: int, batch: int) -> float:
    """Seconds to COPY the ledger's own rows again, in the ledger's batches, into
    look-alike tables without triggers or checks (read back untimed, one batch at a time)."""
    for table in ("ledger_transactions", "ledger_postings"):
        floor = table.replace("ledger_", "floor_")
        conn.execute(f"CREATE TABLE {floor} (LIKE {table} INCLUDING ALL)")
        checks = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'c'",
            (floor,),
        ).fetchall()
        for check in checks:
            conn.execute(f'ALTER TABLE {floor} DROP CONSTRAINT "{check["conname"]}"')
    conn.commit()
    span = conn.execute("SELECT min(txn_id) AS lo, max(txn_id) AS hi FROM ledger_transactions")
    lo, hi = span.fetchone().values()
    advance = tracker("COPY floor", charges)
    seconds = 0.0
    for start in range(lo, hi + 1, batch):  # the ledger's ids: one run, one batch per range
        window = (start, min(start + batch, hi + 1) - 1)
        headers = _read(conn, f"SELECT {_HEADERS} FROM ledger_transactions", window, "txn_id")
        postings = _read(conn, f"SELECT {_POSTINGS} FROM ledger_postings", window, "posting_id")
        conn.commit()
        started = time.perf_counter()
        _write(conn, f"floor_transactions ({_HEADERS})", headers)
        _write(conn, f"floor_postings ({_POSTINGS})", postings)
        conn.commit()
        seconds += time.perf_counter() - started
        advance(window[1] - window[0] + 1)
    return seconds


def _read(conn: psycopg.Connection, select: str, window: tuple[int, int], order: str) -> bytes:
    statement = f"""COPY ({select} WHERE txn_id BETWEEN {window[0]} AND {window[1]}
                    ORDER BY {order}) TO STDOUT (FORMAT BINARY)"""
    with conn.cursor().copy(statement) as copy:
        return b"".join(bytes(data) for data in copy)


def _write(conn: psycopg.Connection, target: str, payload: bytes) -> None:
    with conn.cursor().copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(payload)
