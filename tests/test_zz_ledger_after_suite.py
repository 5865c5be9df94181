"""After the whole suite, the session database's ledger still verifies.

This module must run last: pytest collects the files of ``tests/`` in name order, and
``test_zz_`` sorts after every other ``test_*`` module, so by the time this test runs
every other test of the session has posted what it posts. Run on its own (or with a
few files), it checks whatever those tests left in the session database.
"""

from __future__ import annotations

import json

from tests.helpers.cli import run_adreel


def test_the_ledger_verifies_after_the_suite(database_url):
    # Whatever the suite did, the ledger must still verify (as `adreel ledger verify`).
    verified = run_adreel("ledger", "verify", "--json", env={"ADREEL_DATABASE_URL": database_url})
    assert verified.returncode == 0, f"ledger verify failed after the suite: {verified.stdout}"
    check = json.loads(verified.stdout.strip().splitlines()[-1])
    assert check["ok"] is True, check
    problems = {name: rows for name, rows in check.items() if name != "ok" and rows}
    assert not problems, problems  # balance_mismatches, bad_transactions, hold_mismatches
