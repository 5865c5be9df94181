"""The contract, wallet, ledger and finance commands, run as a user would."""

from __future__ import annotations

import json
import uuid

from tests.helpers.cli import run_adreel

CONTRACT = """\
effective_from: 2026-01-01
currency: JPY
modes: [tokens]
tokens:
  price_per_1000: "300"
  packs:
    - {name: starter, tokens: 10000, price: "2500"}
"""


def test_account_manager_and_finance_workflow(adreel_env, tmp_path):
    merchant = f"cli-{uuid.uuid4().hex[:8]}"
    contract = tmp_path / "contract.yaml"
    contract.write_text(CONTRACT)

    created = run_adreel(
        "contract",
        "create",
        "--merchant",
        merchant,
        "--file",
        str(contract),
        "--json",
        env=adreel_env,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["version"] == 1

    buy = [
        "wallet",
        "buy",
        "--merchant",
        merchant,
        "--pack",
        "starter",
        "--key",
        "inv-1",
        "--on",
        "2026-10-01",
        "--json",
    ]
    first, again = run_adreel(*buy, env=adreel_env), run_adreel(*buy, env=adreel_env)
    assert json.loads(first.stdout)["created"] is True
    assert json.loads(again.stdout)["created"] is False  # replay changes nothing

    wallet = json.loads(
        run_adreel("wallet", "show", "--merchant", merchant, "--json", env=adreel_env).stdout
    )
    assert (wallet["balance"], wallet["available"]) == ("10000", "10000")

    closed = run_adreel(
        "finance", "close", "--merchant", merchant, "--period", "2026-10", "--json", env=adreel_env
    )
    assert json.loads(closed.stdout)["closed"] == [merchant]
    late = run_adreel(*[a if a != "inv-1" else "inv-2" for a in buy], env=adreel_env)
    assert late.returncode == 1 and "closed" in late.stderr and "Traceback" not in late.stderr

    verified = run_adreel("ledger", "verify", "--merchant", merchant, "--json", env=adreel_env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True


def test_a_contract_with_a_rate_outside_the_range_is_refused_in_one_line(adreel_env, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        CONTRACT.replace("modes: [tokens]", "modes: [tokens, gmv_share]")
        + "gmv_share:\n  schedule: flat\n  tiers: [{from: '0', rate: '0.35'}]\n"
    )
    result = run_adreel(
        "contract", "create", "--merchant", "m-bad", "--file", str(path), env=adreel_env
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "outside the allowed 0.15 to 0.30" in result.stderr
