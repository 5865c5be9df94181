"""The ledger's bulk path (issue 21): text COPY, no look-up before writing new keys, and
the rules PostgreSQL checks per statement (migration 0023), each on the cases its fast
path does not cover."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.errors import ClosedPeriodError, IdempotencyConflict, LedgerError
from billing.ledger import Entry, Posting, balances, post, post_entries
from billing.periods import close_period
from billing.verify import verify_ledger
from tests.helpers.ledger import balance_map, charge, new_merchant


def transaction(conn, txn_id: int) -> dict:
    return conn.execute(
        "SELECT idempotency_key, code, event FROM ledger_transactions WHERE txn_id = %s",
        (txn_id,),
    ).fetchone()


def test_keys_codes_and_events_with_copy_escapes_are_stored_exactly(conn):
    merchant = new_merchant(conn)
    awkward = "a\tb\nc\\d\re \\N"
    entry = Entry(
        f"{merchant}:{awkward}",
        merchant,
        f"code {awkward}",
        date(2026, 10, 5),
        (
            Posting("receivable", "USD", "D", Decimal("1.00")),
            Posting("revenue_tokens", "USD", "C", Decimal("1.00")),
        ),
        event={"note": awkward, "nested": {"quote": 'say "hi"'}},
    )
    posted = post(conn, entry)
    assert transaction(conn, posted.txn_id) == {
        "idempotency_key": entry.idempotency_key,
        "code": entry.code,
        "event": dict(entry.event),
    }
    again = post(conn, entry)  # the stored content hash is the entry's
    assert (again.txn_id, again.created) == (posted.txn_id, False)


@pytest.mark.parametrize(
    ("amount", "stored"),
    [("1.50", "1.50"), ("2E+1", "20"), ("0.10", "0.10"), ("1234567890123456789.12",) * 2],
)
def test_amounts_are_stored_with_their_value_and_scale(conn, amount, stored):
    merchant = new_merchant(conn)
    posted = post(conn, charge(merchant, f"{merchant}:1", amount))
    rows = conn.execute(
        "SELECT amount::text AS amount FROM ledger_postings WHERE txn_id = %s", (posted.txn_id,)
    ).fetchall()
    assert [row["amount"] for row in rows] == [stored] * 2
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal(amount)


def test_a_batch_mixing_posted_and_new_keys_returns_the_first_and_posts_the_rest(conn):
    merchant = new_merchant(conn)
    first = post_entries(conn, [charge(merchant, f"{merchant}:{i}", "1.00") for i in (1, 3)])
    conn.commit()
    batch = [charge(merchant, f"{merchant}:{i}", "1.00") for i in range(5)]
    posted = post_entries(conn, batch)
    assert [p.created for p in posted] == [True, False, True, False, True]
    assert [posted[1].txn_id, posted[3].txn_id] == [p.txn_id for p in first]
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("5.00")
    assert verify_ledger(conn, merchant).ok


def test_a_key_posted_before_with_other_content_refuses_the_whole_batch(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:old", "1.00"))
    conn.commit()
    batch = [charge(merchant, f"{merchant}:{i}", "2.00") for i in range(3)]
    batch.append(charge(merchant, f"{merchant}:old", "9.00"))
    with pytest.raises(IdempotencyConflict, match="different content"):
        post_entries(conn, batch)
    conn.rollback()
    count = conn.execute(
        "SELECT count(*) AS n FROM ledger_transactions WHERE merchant_id = %s", (merchant,)
    ).fetchone()["n"]
    assert count == 1


def test_a_replay_dated_in_a_period_closed_since_is_returned_not_refused(conn):
    merchant = new_merchant(conn)
    posted = post(conn, charge(merchant, f"{merchant}:1", "1.00", on=date(2026, 9, 10)))
    close_period(conn, [merchant], date(2026, 9, 1))
    again = post_entries(conn, [charge(merchant, f"{merchant}:1", "1.00", on=date(2026, 9, 10))])
    assert (again[0].txn_id, again[0].created) == (posted.txn_id, False)
    with pytest.raises(ClosedPeriodError, match="which is closed"):
        post(conn, charge(merchant, f"{merchant}:2", "1.00", on=date(2026, 9, 10)))


def test_a_batch_of_several_merchants_is_posted_to_each_ones_accounts(conn):
    merchants = [new_merchant(conn) for _ in range(3)]
    post_entries(conn, [charge(m, f"{m}:{i}", "1.25") for i in range(4) for m in merchants])
    for merchant in merchants:
        assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("5.00")
        assert verify_ledger(conn, merchant).ok


def accounts(conn, merchant: str) -> dict[str, int]:
    rows = conn.execute(
        "SELECT kind, account_id FROM ledger_accounts WHERE merchant_id = %s", (merchant,)
    ).fetchall()
    return {row["kind"]: row["account_id"] for row in rows}


def raw_postings(conn, rows: list[tuple[int, int, str, str]]) -> None:
    """Postings (txn, account, side, USD amount) in one INSERT: one trigger call."""
    values = ", ".join(["(%s, %s, 'USD', 2, %s, %s)"] * len(rows))
    conn.execute(
        f"INSERT INTO ledger_postings (txn_id, account_id, asset, minor_units, side, amount) "
        f"VALUES {values}",
        [value for row in rows for value in row],
    )


def raw_header(conn, merchant: str, key: str) -> int:
    return conn.execute(
        """INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
           effective_date) VALUES (%s, 'raw', %s, 'raw_sql', '2026-10-05') RETURNING txn_id""",
        (key, merchant),
    ).fetchone()["txn_id"]


def test_postgresql_refuses_postings_to_a_transaction_of_another_merchant(conn):
    mine, theirs = new_merchant(conn), new_merchant(conn)
    post(conn, charge(mine, f"{mine}:1", "1.00"))
    post(conn, charge(theirs, f"{theirs}:1", "1.00"))
    conn.commit()
    txn = raw_header(conn, theirs, f"{theirs}:raw")
    account = accounts(conn, mine)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="account of another merchant"):
        raw_postings(
            conn,
            [
                (txn, account["receivable"], "D", "1.00"),
                (txn, account["revenue_tokens"], "C", "1.00"),
            ],
        )


def test_postgresql_refuses_postings_to_a_missing_transaction(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:1", "1.00"))
    account = accounts(conn, merchant)
    missing = conn.execute("SELECT max(txn_id) + 1000 AS t FROM ledger_transactions").fetchone()
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="missing transaction"):
        raw_postings(
            conn,
            [
                (missing["t"], account["receivable"], "D", "1.00"),
                (missing["t"], account["revenue_tokens"], "C", "1.00"),
            ],
        )


@pytest.mark.parametrize("gap", [0, 20], ids=["dense ids", "sparse ids"])
def test_postgresql_refuses_one_statement_mixing_merchants_wrongly(conn, gap):
    """Both ways the trigger reads a statement's transactions of several merchants: its
    id range at once when dense, each transaction when the ids lie far apart."""
    a, b = new_merchant(conn), new_merchant(conn)
    post(conn, charge(a, f"{a}:1", "1.00"))
    post(conn, charge(b, f"{b}:1", "1.00"))
    conn.commit()
    ta = raw_header(conn, a, f"{a}:raw")
    conn.execute(  # ids drawn by others meanwhile
        "SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'txn_id')) "
        "FROM generate_series(1, %s)",
        (gap,),
    )
    tb = raw_header(conn, b, f"{b}:raw")
    acc_a, acc_b = accounts(conn, a), accounts(conn, b)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="account of another merchant"):
        raw_postings(
            conn,
            [
                (ta, acc_a["receivable"], "D", "1.00"),
                (ta, acc_a["revenue_tokens"], "C", "1.00"),
                (tb, acc_b["receivable"], "D", "1.00"),
                (tb, acc_a["revenue_tokens"], "C", "1.00"),  # a's account in b's transaction
            ],
        )


def test_balanced_postings_added_to_old_transactions_far_apart_commit(conn):
    merchant = new_merchant(conn)
    first = post(conn, charge(merchant, f"{merchant}:1", "1.00"))
    for i in range(2, 5):
        post(conn, charge(merchant, f"{merchant}:{i}", "1.00"))
    last = post(conn, charge(merchant, f"{merchant}:5", "1.00"))
    conn.commit()
    account = accounts(conn, merchant)
    raw_postings(
        conn,
        [
            (first.txn_id, account["receivable"], "D", "0.50"),
            (first.txn_id, account["revenue_tokens"], "C", "0.50"),
            (last.txn_id, account["receivable"], "D", "0.25"),
            (last.txn_id, account["revenue_tokens"], "C", "0.25"),
        ],
    )
    conn.commit()
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("5.75")
    assert verify_ledger(conn, merchant).ok


def test_postgresql_refuses_at_commit_a_header_whose_postings_were_rolled_back(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:1", "1.00"))
    conn.commit()
    account = accounts(conn, merchant)
    txn = raw_header(conn, merchant, f"{merchant}:raw")
    with pytest.raises(psycopg.errors.ForeignKeyViolation), conn.transaction():
        raw_postings(
            conn,
            [
                (txn, account["receivable"], "D", "1.00"),
                (txn, account["revenue_tokens"], "C", "1.00"),
            ],
        )
        raw_postings(conn, [(txn + 1000, account["receivable"], "D", "1.00")])  # refused
    with pytest.raises(psycopg.errors.CheckViolation, match=f"{txn} has no postings"):
        conn.commit()


def test_postgresql_checks_each_asset_of_a_transaction_in_several(conn):
    merchant = new_merchant(conn)
    for currency in ("USD", "EUR"):
        post(conn, charge(merchant, f"{merchant}:{currency}", "1.00", currency))
    conn.commit()
    rows = conn.execute(
        "SELECT kind, asset, account_id FROM ledger_accounts WHERE merchant_id = %s", (merchant,)
    ).fetchall()
    account = {(row["kind"], row["asset"]): row["account_id"] for row in rows}
    txn = raw_header(conn, merchant, f"{merchant}:fx")
    # credits equal debits over both assets, but not within each: refused at COMMIT
    conn.execute(
        """INSERT INTO ledger_postings (txn_id, account_id, asset, minor_units, side, amount)
           VALUES (%(t)s, %(ru)s, 'USD', 2, 'D', 2.00), (%(t)s, %(vu)s, 'USD', 2, 'C', 1.00),
                  (%(t)s, %(re)s, 'EUR', 2, 'D', 1.00), (%(t)s, %(ve)s, 'EUR', 2, 'C', 2.00)""",
        {
            "t": txn,
            "ru": account[("receivable", "USD")],
            "vu": account[("revenue_tokens", "USD")],
            "re": account[("receivable", "EUR")],
            "ve": account[("revenue_tokens", "EUR")],
        },
    )
    with pytest.raises(psycopg.errors.CheckViolation, match=f"{txn} does not balance in EUR"):
        conn.commit()


def test_postgresql_refuses_a_header_of_a_missing_merchant(conn):
    merchant = new_merchant(conn)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="missing merchant"):
        conn.execute(
            """INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
               effective_date) VALUES (%s, 'raw', %s, 'raw_sql', '2026-10-05'),
                                      (%s, 'raw', 'no-such-merchant', 'raw_sql', '2026-10-05')""",
            (f"{merchant}:ok", merchant, f"{merchant}:ghost"),
        )


def test_postgresql_refuses_a_header_reversing_a_missing_transaction(conn):
    merchant = new_merchant(conn)
    with pytest.raises(psycopg.errors.ForeignKeyViolation, match="reverses a missing"):
        conn.execute(
            """INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
               effective_date, reverses_txn_id)
               VALUES (%s, 'raw', %s, 'raw_sql', '2026-10-05', -1)""",
            (f"{merchant}:rev", merchant),
        )


def test_one_statement_spanning_open_and_closed_months_is_refused_at_the_closed_one(conn):
    merchant = new_merchant(conn)
    close_period(conn, [merchant], date(2026, 8, 1))
    close_period(conn, [merchant], date(2026, 9, 1))
    conn.commit()
    with pytest.raises(psycopg.errors.CheckViolation, match="2026-09-30 in a closed period"):
        conn.execute(
            """INSERT INTO ledger_transactions (idempotency_key, content_hash, merchant_id, code,
               effective_date) VALUES (%s, 'raw', %s, 'raw_sql', '2026-10-05'),
                                      (%s, 'raw', %s, 'raw_sql', '2026-09-30')""",
            (f"{merchant}:oct", merchant, f"{merchant}:sep", merchant),
        )
    conn.rollback()
    posted = post(conn, charge(merchant, f"{merchant}:oct", "1.00", on=date(2026, 10, 1)))
    assert posted.created


def test_a_bad_entry_is_named_first_even_behind_a_key_posted_before(conn):
    merchant = new_merchant(conn)
    post(conn, charge(merchant, f"{merchant}:old", "1.00"))
    conn.commit()
    batch = [
        charge(merchant, f"{merchant}:old", "9.00"),  # other content: a conflict, found later
        charge(merchant, f"{merchant}:new", "2.00"),
        charge(merchant, f"{merchant}:bad", "1.005"),  # refused by the checks
    ]
    with pytest.raises(LedgerError, match=f"{merchant}:bad: 1.005 USD has more decimals"):
        post_entries(conn, batch)
    conn.rollback()
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("1.00")


def _specified_hash(entry: Entry) -> str:
    """Entry.content_hash as documented (and as prepare_bulk_entries computes it in SQL),
    written the plain way: the reference the faster method is held to."""
    postings = sorted(f"{p.kind}\x1f{p.asset}\x1f{p.side}\x1f{p.amount}" for p in entry.postings)
    date_text, reverses = entry.effective_date.isoformat(), str(entry.reverses_txn_id)
    content = "\x1e".join([entry.merchant_id, entry.code, date_text, reverses, *postings])
    return hashlib.sha256(content.encode()).hexdigest()


postings_drawn = st.lists(
    st.builds(
        Posting,
        st.sampled_from(["receivable", "revenue_tokens", "wallet", "weird\tkind"]),
        st.sampled_from(["USD", "JPY", "TOKEN"]),
        st.sampled_from(["D", "C"]),
        st.decimals(min_value=Decimal("0.001"), max_value=Decimal(10**9), places=3),
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=500, deadline=None)
@given(
    st.text(min_size=1, max_size=12),
    st.text(max_size=12),
    st.dates(),
    postings_drawn,
    st.one_of(st.none(), st.integers(1, 10**12)),
)
def test_content_hash_is_the_specified_hash(merchant, code, on, postings, reverses):
    entry = Entry("k", merchant, code, on, tuple(postings), reverses_txn_id=reverses)
    assert entry.content_hash() == _specified_hash(entry)
    swapped = Entry("k", merchant, code, on, tuple(reversed(postings)), reverses_txn_id=reverses)
    assert swapped.content_hash() == entry.content_hash()


def test_a_bad_entry_at_the_end_of_a_batch_leaves_nothing_of_the_batch(conn):
    """Entries are checked while their postings stream, after the batch's headers went
    in: the refusal still takes the whole batch back, and the caller's transaction goes on."""
    merchant = new_merchant(conn)
    batch = [charge(merchant, f"{merchant}:{i}", "1.00") for i in range(5)]
    with pytest.raises(LedgerError, match=f"{merchant}:bad: 1.005 USD has more decimals"):
        post_entries(conn, [*batch, charge(merchant, f"{merchant}:bad", "1.005")])
    written = conn.execute(
        "SELECT count(*) AS n FROM ledger_transactions WHERE merchant_id = %s", (merchant,)
    ).fetchone()
    assert written["n"] == 0
    assert all(posted.created for posted in post_entries(conn, batch))
    conn.commit()
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("5.00")
