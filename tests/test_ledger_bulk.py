"""The ledger's bulk path (post_staged): entries built in SQL, the same rules as
post_entries, and the same idempotency: a key posted by one path is a replay in the other."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.errors import ClosedPeriodError, IdempotencyConflict, LedgerError
from billing.ledger import balances, open_bulk, post, post_staged
from billing.periods import close_period, parse_period
from billing.verify import verify_ledger
from tests.helpers.ledger import balance_map, charge, new_merchant


def stage(conn, merchant: str, key: str, debit: str, credit: str, on: str = "2026-10-05"):
    conn.execute(
        """INSERT INTO ledger_bulk_entries (idempotency_key, merchant_id, code, effective_date)
           VALUES (%s, %s, 'usage_charge', %s)""",
        (key, merchant, on),
    )
    conn.execute(
        """INSERT INTO ledger_bulk_postings (idempotency_key, kind, asset, side, amount)
           VALUES (%s, 'receivable', 'USD', 'D', %s), (%s, 'revenue_tokens', 'USD', 'C', %s)""",
        (key, debit, key, credit),
    )


def test_staged_entries_post_and_replay_as_entries_posted_from_python(conn):
    merchant = new_merchant(conn)
    open_bulk(conn)
    stage(conn, merchant, f"{merchant}:1", "12.50", "12.50")
    stage(conn, merchant, f"{merchant}:2", "0.05", "0.05")
    done = post_staged(conn)
    assert (done.created, done.replayed) == (2, 0)
    # the same entry from Python: its content hash matches the one PostgreSQL computed
    again = post(conn, charge(merchant, f"{merchant}:1", "12.50"))
    assert again.created is False
    with pytest.raises(IdempotencyConflict, match="different content"):
        post(conn, charge(merchant, f"{merchant}:2", "0.06"))
    first = post(conn, charge(merchant, f"{merchant}:3", "1.00"))
    open_bulk(conn)
    stage(conn, merchant, f"{merchant}:3", "1.00", "1.00")
    replayed = post_staged(conn)
    assert (replayed.created, replayed.replayed) == (0, 1)
    txn = conn.execute(
        "SELECT txn_id FROM ledger_bulk_results WHERE idempotency_key = %s", (f"{merchant}:3",)
    ).fetchone()["txn_id"]
    assert txn == first.txn_id
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("13.55")
    assert verify_ledger(conn, merchant).ok


@pytest.mark.parametrize(
    ("debit", "credit", "message"),
    [
        ("5.00", "4.00", "do not balance in USD"),
        ("1.005", "1.005", "more decimals"),
        ("-5.00", "-5.00", "must be positive"),
    ],
)
def test_staged_entries_that_break_a_rule_are_refused_whole(conn, debit, credit, message):
    merchant = new_merchant(conn)
    open_bulk(conn)
    stage(conn, merchant, f"{merchant}:ok", "1.00", "1.00")
    stage(conn, merchant, f"{merchant}:bad", debit, credit)
    with pytest.raises(LedgerError, match=f"{merchant}:bad: .*{message}"):
        post_staged(conn)
    assert balances(conn, merchant) == []


def test_staged_entries_in_a_closed_month_are_refused_or_moved(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:open", "1.00"))
    close_period(conn, [merchant], parse_period("2026-10"))
    open_bulk(conn)
    stage(conn, merchant, f"{merchant}:late", "2.00", "2.00")
    with pytest.raises(ClosedPeriodError, match="2026-10, which is closed"):
        post_staged(conn)
    moved = post_staged(conn, late="adjust")
    assert [(p.effective_date.isoformat(), p.adjusts_period.isoformat()) for p in moved.moved] == [
        ("2026-11-01", "2026-10-01")
    ]
    assert verify_ledger(conn, merchant).ok
