"""The ledger's rules, checked through the Python API and against PostgreSQL directly."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from billing.errors import ClosedPeriodError, IdempotencyConflict, LedgerError
from billing.ledger import Entry, Posting, balances, post, post_entries, reverse
from billing.periods import close_period, parse_period
from billing.verify import verify_ledger
from tests.helpers.ledger import balance_map, charge, new_merchant


def test_posting_moves_balances_as_credits_minus_debits(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:1", "12.50"))
    assert balance_map(balances(conn, merchant)) == {
        ("receivable", "USD"): Decimal("-12.50"),
        ("revenue_tokens", "USD"): Decimal("12.50"),
    }
    assert verify_ledger(conn, merchant).ok


def test_same_key_twice_returns_the_first_transaction_and_changes_nothing(conn):
    merchant = new_merchant(conn)
    first = post(conn, charge(merchant, f"{merchant}:1", "3.00"))
    again = post(conn, charge(merchant, f"{merchant}:1", "3.00"))
    assert (again.txn_id, again.created, first.created) == (first.txn_id, False, True)
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("3.00")


def test_same_key_with_other_content_is_refused_and_writes_nothing(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:1", "3.00"))
    with pytest.raises(IdempotencyConflict, match="different content"):
        post_entries(
            conn,
            [charge(merchant, f"{merchant}:2", "1.00"), charge(merchant, f"{merchant}:1", "4.00")],
        )
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("3.00")


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1.005", "USD", "more decimals"),
        ("10.5", "JPY", "more decimals"),
        ("1.00", "XYZ", "unknown currency"),
        ("-5.00", "USD", "positive"),
    ],
)
def test_bad_amounts_are_refused_with_one_clear_line(conn, amount, currency, message):
    merchant = new_merchant(conn)
    with pytest.raises(LedgerError, match=message):
        post(conn, charge(merchant, f"{merchant}:bad", amount, currency))
    assert balances(conn, merchant) == []


def test_kuwaiti_dinar_keeps_three_decimals(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:kwd", "4.500", "KWD"))
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "KWD")] == Decimal("4.500")


def test_unbalanced_entry_is_refused_in_python(conn):
    merchant = new_merchant(conn)
    entry = Entry(
        f"{merchant}:u",
        merchant,
        "oops",
        date(2026, 10, 1),
        (
            Posting("receivable", "USD", "D", Decimal("1.00")),
            Posting("revenue_raas", "USD", "C", Decimal("0.99")),
        ),
    )
    with pytest.raises(LedgerError, match="do not balance in USD"):
        post(conn, entry)


def first_posting(conn, merchant: str) -> tuple[int, int]:
    row = conn.execute(
        """SELECT t.txn_id, p.account_id FROM ledger_transactions t JOIN ledger_postings p
           USING (txn_id) WHERE t.merchant_id = %s LIMIT 1""",
        (merchant,),
    ).fetchone()
    return row["txn_id"], row["account_id"]


def raw_header(conn, merchant: str, key: str) -> int:
    """A transaction header written with plain SQL, past every Python check."""
    return conn.execute(
        """INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
           effective_date) VALUES (%s, 'raw', %s, 'raw_sql', '2026-10-05') RETURNING txn_id""",
        (key, merchant),
    ).fetchone()["txn_id"]


def raw_posting(conn, txn: int, account: int, side: str, amount: str) -> None:
    conn.execute(
        """INSERT INTO ledger_postings (txn_id, account_id, asset, minor_units, side, amount)
           VALUES (%s, %s, 'USD', 2, %s, %s)""",
        (txn, account, side, Decimal(amount)),
    )


def usd_accounts(conn) -> tuple[str, int, int]:
    """A committed merchant with a receivable and a revenue account in USD."""
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:ok", "1.00"))
    rows = conn.execute(
        "SELECT kind, account_id FROM ledger_accounts WHERE merchant_id = %s", (merchant,)
    ).fetchall()
    conn.commit()
    accounts = {row["kind"]: row["account_id"] for row in rows}
    return merchant, accounts["receivable"], accounts["revenue_tokens"]


def raw_transaction_count(conn, merchant: str) -> int:
    return conn.execute(
        "SELECT count(*) AS n FROM ledger_transactions WHERE merchant_id = %s AND code = 'raw_sql'",
        (merchant,),
    ).fetchone()["n"]


def test_postgresql_itself_refuses_at_commit_an_unbalanced_transaction(conn):
    merchant, receivable, revenue = usd_accounts(conn)
    txn = raw_header(conn, merchant, f"{merchant}:raw")
    raw_posting(conn, txn, receivable, "D", "5.00")
    raw_posting(conn, txn, revenue, "C", "4.00")  # accepted for now: checked at COMMIT
    with pytest.raises(psycopg.errors.CheckViolation, match=f"{txn} does not balance in USD"):
        conn.commit()
    assert raw_transaction_count(conn, merchant) == 0
    assert verify_ledger(conn, merchant).ok


def test_postgresql_itself_refuses_at_commit_a_transaction_without_postings(conn):
    merchant, _, _ = usd_accounts(conn)
    txn = raw_header(conn, merchant, f"{merchant}:raw")
    with pytest.raises(psycopg.errors.CheckViolation, match=f"{txn} has no postings"):
        conn.commit()
    assert raw_transaction_count(conn, merchant) == 0


def test_postgresql_refuses_a_posting_that_unbalances_a_committed_transaction(conn):
    merchant, _, revenue = usd_accounts(conn)
    txn = conn.execute(
        "SELECT txn_id FROM ledger_transactions WHERE merchant_id = %s", (merchant,)
    ).fetchone()["txn_id"]
    raw_posting(conn, txn, revenue, "C", "2.00")
    with pytest.raises(psycopg.errors.CheckViolation, match="does not balance"):
        conn.commit()
    assert verify_ledger(conn, merchant).ok


def test_postgresql_commits_postings_that_balance_by_commit(conn):
    merchant, receivable, revenue = usd_accounts(conn)
    txn = raw_header(conn, merchant, f"{merchant}:raw")
    raw_posting(conn, txn, receivable, "D", "5.00")  # unbalanced between statements
    raw_posting(conn, txn, revenue, "C", "2.00")
    raw_posting(conn, txn, revenue, "C", "3.00")
    conn.commit()
    assert raw_transaction_count(conn, merchant) == 1
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("6.00")
    assert verify_ledger(conn, merchant).ok


def test_the_balance_trigger_refusal_reaches_a_poster_as_a_ledger_error(conn):
    merchant, _, _ = usd_accounts(conn)
    raw_header(conn, merchant, f"{merchant}:raw")  # left without postings in this transaction
    with pytest.raises(LedgerError, match="has no postings"):
        post(conn, charge(merchant, f"{merchant}:2", "1.00"))
    conn.rollback()
    assert raw_transaction_count(conn, merchant) == 0


def test_postgresql_refuses_fractions_of_a_minor_unit(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:ok", "1.00"))
    txn, account = first_posting(conn, merchant)
    with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
        conn.execute(
            """INSERT INTO ledger_postings (txn_id, account_id, asset, minor_units, side, amount)
               VALUES (%s, %s, 'USD', 2, 'C', 1.005), (%s, %s, 'USD', 2, 'D', 1.005)""",
            (txn, account, txn, account),
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_postings SET amount = amount + 1",
        "DELETE FROM ledger_postings",
        "DELETE FROM ledger_transactions",
        "UPDATE ledger_accounts SET balance = 0",
    ],
)
def test_ledger_rows_cannot_be_changed_or_deleted(conn, statement):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:1", "1.00"))
    with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
        conn.execute(statement + " WHERE true" if "WHERE" not in statement else statement)


def test_a_correction_is_a_reversal_that_names_what_it_reverses(conn):
    merchant = new_merchant(conn)
    original = post(conn, charge(merchant, f"{merchant}:1", "7.00"))
    reversal = reverse(conn, original.txn_id, f"{merchant}:rev", date(2026, 10, 6), "wrong price")
    assert all(b == 0 for b in balance_map(balances(conn, merchant)).values())
    named = conn.execute(
        "SELECT reverses_txn_id FROM ledger_transactions WHERE txn_id = %s", (reversal.txn_id,)
    ).fetchone()["reverses_txn_id"]
    assert named == original.txn_id
    with pytest.raises(LedgerError, match="already reversed"):
        reverse(conn, original.txn_id, f"{merchant}:rev2", date(2026, 10, 7), "again")


def test_nothing_posts_into_a_closed_period_but_late_events_adjust(conn):
    merchant = new_merchant(conn)
    close_period(conn, [merchant], parse_period("2026-10"))
    with pytest.raises(ClosedPeriodError, match="2026-10, which is closed"):
        post(conn, charge(merchant, f"{merchant}:late", "2.00"))
    adjusted = post(conn, charge(merchant, f"{merchant}:late", "2.00"), late="adjust")
    assert adjusted.effective_date == date(2026, 11, 1)
    assert adjusted.adjusts_period == date(2026, 10, 1)


def test_postgresql_refuses_a_transaction_dated_in_a_closed_period(conn):
    merchant = new_merchant(conn)
    close_period(conn, [merchant], date(2026, 9, 1))
    with pytest.raises(psycopg.errors.CheckViolation, match="closed period"), conn.transaction():
        conn.execute(
            """INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
               effective_date) VALUES (%s, 'x', %s, 'sneaky', '2026-09-15')""",
            (f"{merchant}:sneak", merchant),
        )


def test_bad_period_text_is_refused():
    with pytest.raises(LedgerError, match="YYYY-MM"):
        parse_period("2026-13")
