"""bench ledger: post N usage charges (two postings each) with balances maintained.

Baseline, in the same run: PostgreSQL COPY of the same number of rows (one row per
charge: key, merchant, date, accounts, amount) into a plain table with no constraints.
The benchmark makes a database of its own on the configured server and drops it after,
because the ledger is append-only.
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
