"""Two processes posting the same key at once: one transaction, both callers told of it."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from billing.ledger import balances, post, post_entries
from billing.verify import verify_ledger
from tests.helpers.ledger import balance_map, charge, new_merchant


def test_a_key_posted_meanwhile_by_another_connection_is_returned_not_posted_twice(
    conn, database_url
):
    merchant = new_merchant(conn)
    conn.commit()
    with psycopg.connect(database_url, row_factory=dict_row) as other:
        # the other connection posts the key and holds its transaction open, so this
        # batch does not see it when it looks for keys already posted, and its COPY of
        # headers waits on the unique index until the other commits
        theirs = post(other, charge(merchant, f"{merchant}:shared", "2.00"))
        result: dict[str, object] = {}

        def post_batch() -> None:
            with psycopg.connect(database_url, row_factory=dict_row) as mine:
                entries = [
                    charge(merchant, f"{merchant}:shared", "2.00"),
                    charge(merchant, f"{merchant}:mine", "3.00"),
                ]
                result["posted"] = post_entries(mine, entries)
                mine.commit()

        worker = threading.Thread(target=post_batch)
        worker.start()
        time.sleep(1.0)  # the batch is now waiting on the other's uncommitted key
        other.commit()
        worker.join(timeout=30)
    shared, mine = result["posted"]
    assert (shared.txn_id, shared.created) == (theirs.txn_id, False)
    assert mine.created
    assert balance_map(balances(conn, merchant))[("revenue_tokens", "USD")] == Decimal("5.00")
    keys = conn.execute(
        "SELECT count(*) AS n FROM ledger_transactions WHERE merchant_id = %s", (merchant,)
    ).fetchone()["n"]
    assert keys == 2
    assert verify_ledger(conn, merchant).ok
