"""Contracts, token wallets and RaaS charges."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing.charges import charge_accepted_material, commission_entry, gmv_commission
from billing.contracts import GmvShareTerms, contract_at, create_version, parse_contract
from billing.errors import ContractError, InsufficientTokens, LedgerError
from billing.ledger import balances, post
from billing.periods import parse_period
from billing.tokens import buy_pack, commit_hold, hold_tokens, void_hold
from billing.verify import verify_ledger
from tests.helpers.ledger import balance_map, new_merchant

CONTRACT = """\
effective_from: 2026-01-01
currency: USD
modes: [tokens, raas, gmv_share]
tokens:
  price_per_1000: "2.50"
  packs:
    - {name: starter, tokens: 1000, price: "10.00"}
raas:
  - {format: "9x16", duration_s: 15, price: "12.00"}
gmv_share:
  schedule: graduated
  tiers: [{from: "0", rate: "0.20"}, {from: "10000", rate: "0.15"}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contract.yaml"
    path.write_text(text)
    return path


def test_contract_file_round_trips_and_governs_from_its_date(conn, tmp_path):
    merchant = new_merchant(conn)
    version = create_version(conn, merchant, parse_contract(write(tmp_path, CONTRACT)))
    later = CONTRACT.replace("2026-01-01", "2026-07-01").replace('"12.00"', '"11.00"')
    create_version(conn, merchant, parse_contract(write(tmp_path, later)))
    assert version == 1
    assert contract_at(conn, merchant, date(2026, 3, 1))[1].raas_price("9x16", 15) == Decimal(
        "12.00"
    )
    assert contract_at(conn, merchant, date(2026, 7, 1))[1].raas_price("9x16", 15) == Decimal(
        "11.00"
    )
    with pytest.raises(LedgerError, match="no contract in force"):
        contract_at(conn, merchant, date(2025, 12, 31))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('"0.20"', '"0.31"'), "outside the allowed 0.15 to 0.30"),
        (('"0.20"', '"0.10"'), "outside the allowed 0.15 to 0.30"),
        (("currency: USD", "currency: XYZ"), "unknown currency"),
        (('"12.00"', '"12.001"'), "more decimals"),
        (('"10.00"', '"-10.00"'), "greater than or equal to 0"),
    ],
)
def test_bad_contracts_are_refused_naming_the_field(tmp_path, change, message):
    path = write(tmp_path, CONTRACT.replace(*change))
    with pytest.raises(ContractError, match=message) as error:
        parse_contract(path)
    assert str(error.value).startswith(str(path))


def test_overlapping_version_is_refused(conn, tmp_path):
    merchant = new_merchant(conn)
    create_version(conn, merchant, parse_contract(write(tmp_path, CONTRACT)))
    with pytest.raises(ContractError, match="overlap"):
        create_version(conn, merchant, parse_contract(write(tmp_path, CONTRACT)))


def test_tokens_are_held_then_committed_at_the_packs_price(conn):
    merchant = new_merchant(conn)
    buy_pack(conn, merchant, 1000, Decimal("10.00"), "USD", f"{merchant}:pack1", date(2026, 10, 1))
    hold_tokens(conn, merchant, "render-1", 300)
    wallet = {r["kind"]: r for r in balances(conn, merchant)}["wallet"]
    assert (wallet["balance"], wallet["available"]) == (1000, 700)

    commit_hold(conn, "render-1", date(2026, 10, 2))
    totals = balance_map(balances(conn, merchant))
    assert totals[("wallet", "TOKEN")] == 700
    assert totals[("revenue_tokens", "USD")] == Decimal("3.00")
    assert totals[("deferred_revenue", "USD")] == Decimal("7.00")
    assert verify_ledger(conn, merchant).ok


def test_a_render_the_wallet_cannot_cover_does_not_start(conn):
    merchant = new_merchant(conn)
    buy_pack(conn, merchant, 100, Decimal("1.00"), "USD", f"{merchant}:pack", date(2026, 10, 1))
    hold_tokens(conn, merchant, f"{merchant}:r1", 80)
    with pytest.raises(InsufficientTokens, match="needs 30 tokens, the wallet has 20 available"):
        hold_tokens(conn, merchant, f"{merchant}:r2", 30)
    void_hold(conn, f"{merchant}:r1")
    hold_tokens(conn, merchant, f"{merchant}:r2", 30)  # released tokens are available again


def test_fifo_packs_recognise_each_price_exactly(conn):
    merchant = new_merchant(conn)
    buy_pack(conn, merchant, 3, Decimal("1.00"), "USD", f"{merchant}:a", date(2026, 10, 1))
    buy_pack(conn, merchant, 2, Decimal("5.00"), "USD", f"{merchant}:b", date(2026, 10, 1))
    for n, tokens in enumerate([1, 1, 2, 1]):
        hold_tokens(conn, merchant, f"{merchant}:r{n}", tokens)
        commit_hold(conn, f"{merchant}:r{n}", date(2026, 10, 3))
    totals = balance_map(balances(conn, merchant))
    assert totals[("revenue_tokens", "USD")] == Decimal("6.00")
    assert totals[("deferred_revenue", "USD")] == 0


def test_raas_charges_an_accepted_material_once(conn, tmp_path):
    merchant = new_merchant(conn)
    create_version(conn, merchant, parse_contract(write(tmp_path, CONTRACT)))
    first = charge_accepted_material(conn, merchant, 41, "9x16", 15, date(2026, 10, 9))
    again = charge_accepted_material(conn, merchant, 41, "9x16", 15, date(2026, 10, 9))
    assert first.created and not again.created
    assert balance_map(balances(conn, merchant))[("revenue_raas", "USD")] == Decimal("12.00")


def test_commission_accrues_and_refunds_claw_back(conn):
    merchant = new_merchant(conn)
    post(
        conn,
        commission_entry(
            merchant, f"{merchant}:o1", Decimal("20.00"), "USD", date(2026, 10, 1), {}
        ),
        late="adjust",
    )
    post(
        conn,
        commission_entry(
            merchant, f"{merchant}:r1", Decimal("-5.00"), "USD", date(2026, 10, 2), {}
        ),
        late="adjust",
    )
    totals = balance_map(balances(conn, merchant))
    assert totals[("revenue_gmv_share", "USD")] == Decimal("20.00")
    assert totals[("commission_clawback", "USD")] == Decimal("-5.00")
    assert totals[("receivable", "USD")] == Decimal("-15.00")


@pytest.mark.parametrize(
    ("schedule", "gmv", "expected"),
    [
        ("flat", "1000.00", "200.00"),
        ("volume", "15000.00", "2250.00"),  # all of it at the 15% tier reached
        ("graduated", "15000.00", "2750.00"),
    ],  # 10,000 at 20% + 5,000 at 15%
)
def test_rate_schedules(schedule, gmv, expected):
    tiers = [{"from": "0", "rate": "0.20"}]
    if schedule != "flat":
        tiers.append({"from": "10000", "rate": "0.15"})
    terms = GmvShareTerms.model_validate({"schedule": schedule, "tiers": tiers})
    assert gmv_commission(terms, Decimal(gmv), "USD") == Decimal(expected)


@pytest.mark.parametrize("text", ["0000-01", "2026-13", "2026-1", "26-10"])
def test_a_period_that_is_not_a_month_is_one_line(text):
    with pytest.raises(LedgerError, match="must look like YYYY-MM"):
        parse_period(text)
