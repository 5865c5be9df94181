"""The ledger's invariants over random sequences of billing events (hypothesis).

Each example gets a merchant of its own and runs a random sequence of pack purchases,
holds, commits, voids, RaaS-like charges, commissions, reversals and period closes,
then checks what finance relies on.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.charges import commission_entry
from billing.contracts import MAX_GMV_RATE, MIN_GMV_RATE, GmvShareTerms
from billing.errors import LedgerError
from billing.ledger import balances, post, post_entries, reverse
from billing.money import minor_units
from billing.periods import close_period
from billing.tokens import buy_pack, commit_hold, hold_tokens, void_hold
from billing.verify import verify_ledger
from tests.helpers.ledger import balance_map, charge, new_merchant

CURRENCIES = ["USD", "JPY", "KWD", "EUR"]
START = date(2026, 1, 1)

money = st.builds(
    lambda currency, units: (currency, Decimal(units).scaleb(-minor_units(currency))),
    st.sampled_from(CURRENCIES),
    st.integers(min_value=1, max_value=10**7),
)
days = st.integers(min_value=0, max_value=180)
operation = st.one_of(
    st.tuples(st.just("pack"), st.integers(1, 5000), money, days),
    st.tuples(st.just("hold"), st.integers(1, 3000)),
    st.tuples(st.just("commit"), st.integers(0, 20), days),
    st.tuples(st.just("void"), st.integers(0, 20)),
    st.tuples(st.just("charge"), money, days),
    st.tuples(st.just("commission"), money, st.booleans(), days),
    st.tuples(st.just("reverse"), st.integers(0, 20), days),
    st.tuples(st.just("close"), st.integers(0, 5)),
)
sequences = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def closed_snapshot(conn, merchant: str) -> list:
    return conn.execute(
        """SELECT t.txn_id, p.account_id, p.side, p.amount FROM ledger_transactions t
           JOIN ledger_postings p USING (txn_id)
           JOIN ledger_periods c ON c.merchant_id = t.merchant_id
            AND c.period = date_trunc('month', t.effective_date)
           WHERE t.merchant_id = %s ORDER BY p.posting_id""",
        (merchant,),
    ).fetchall()


def apply(conn, merchant: str, step: int, op: tuple, state: dict) -> None:
    kind, *args = op
    key = f"{merchant}:{step}"
    try:
        if kind == "pack":
            tokens, (currency, price), day = args
            buy_pack(conn, merchant, tokens, price, currency, key, START + timedelta(day))
        elif kind == "hold":
            state["holds"].append(hold_tokens(conn, merchant, key, args[0]).hold_key)
        elif kind == "commit" and state["holds"]:
            hold = state["holds"][args[0] % len(state["holds"])]
            commit_hold(conn, hold, START + timedelta(args[1]))
        elif kind == "void" and state["holds"]:
            void_hold(conn, state["holds"][args[0] % len(state["holds"])])
        elif kind == "charge":
            (currency, amount), day = args
            posted = post_entries(
                conn,
                [charge(merchant, key, str(amount), currency, START + timedelta(day))],
                late="adjust",
            )
            state["txns"].append(posted[0].txn_id)
        elif kind == "commission":
            (currency, amount), refund, day = args
            signed = -amount if refund else amount
            post(
                conn,
                commission_entry(merchant, key, signed, currency, START + timedelta(day), {}),
                late="adjust",
            )
        elif kind == "reverse" and state["txns"]:
            txn = state["txns"][args[0] % len(state["txns"])]
            reverse(conn, txn, key, START + timedelta(args[1]), "property test")
        elif kind == "close":
            close_period(conn, [merchant], date(2026, 1 + args[0], 1))
            state["closed"] = closed_snapshot(conn, merchant)
    except LedgerError:
        pass  # refusals (no tokens, voided or already reversed) are allowed outcomes


@sequences
@given(ops=st.lists(operation, min_size=1, max_size=25))
def test_invariants_hold_over_any_event_sequence(conn, ops):
    merchant = new_merchant(conn, "prop")
    state = {"holds": [], "txns": [], "closed": []}
    for step, op in enumerate(ops):
        apply(conn, merchant, step, op, state)
        wallet = conn.execute(
            "SELECT balance, held FROM ledger_accounts WHERE merchant_id = %s AND kind = 'wallet'",
            (merchant,),
        ).fetchone()
        if wallet:
            assert wallet["balance"] >= 0
            assert wallet["held"] == 0 or wallet["held"] <= wallet["balance"]
    check = verify_ledger(conn, merchant)
    assert check.ok, check
    # nothing in a closed period changed after it closed
    if state["closed"]:
        assert closed_snapshot(conn, merchant)[: len(state["closed"])] == state["closed"]
    for row in conn.execute(
        "SELECT p.amount, p.minor_units FROM ledger_postings p JOIN ledger_transactions t "
        "USING (txn_id) WHERE t.merchant_id = %s",
        (merchant,),
    ):
        assert row["amount"] == round(row["amount"], row["minor_units"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(money, min_size=1, max_size=20),
    seed=st.integers(0, 2**32),
)
def test_replaying_in_any_order_and_twice_gives_the_identical_ledger(conn, amounts, seed):
    original, replayed = new_merchant(conn, "ord"), new_merchant(conn, "rep")

    def entries(merchant):
        return [
            charge(merchant, f"{merchant}:e{i}", str(amount), currency)
            for i, (currency, amount) in enumerate(amounts)
        ]

    post_entries(conn, entries(original))
    shuffled = entries(replayed)
    random.Random(seed).shuffle(shuffled)
    post_entries(conn, shuffled)
    post_entries(conn, list(reversed(shuffled)))
    assert balance_map(balances(conn, original)) == balance_map(balances(conn, replayed))


@settings(max_examples=2000, deadline=None)
@given(rate=st.decimals(min_value="0", max_value="1", places=4))
def test_gmv_share_rates_always_lie_within_15_and_30_percent(rate):
    terms = {"schedule": "flat", "tiers": [{"from": "0", "rate": str(rate)}]}
    if MIN_GMV_RATE <= rate <= MAX_GMV_RATE:
        assert GmvShareTerms.model_validate(terms).tiers[0].rate == rate
    else:
        with pytest.raises(ValueError, match="outside the allowed"):
            GmvShareTerms.model_validate(terms)
