"""A new user's first commands: no `db migrate` needed on the embedded default, one line
naming it on a configured database without the schema, and no heavy imports for
commands that do not render (they answer at once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.helpers.cli import ADREEL, run_adreel

HEAVY = ("torch", "diffusers", "prefect", "transformers")
# Commands that answer from the database or the files alone, as a user types them.
LIGHT_COMMANDS = [
    ["--help"],
    ["catalog", "--help"],
    ["campaign", "--help"],
    ["render", "--help"],
    ["assets", "list", "--merchant", "nobody"],
    ["ledger", "verify"],
    ["wallet", "show", "--merchant", "nobody"],
    ["campaign", "list"],
    ["finance", "payouts", "--period", "2026-01"],
]


@pytest.mark.parametrize("args", LIGHT_COMMANDS, ids=" ".join)
def test_commands_that_do_not_render_import_no_model_or_prefect(adreel_env, args):
    probe = (
        "import sys\n"
        "from flows.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('HEAVY', sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, **adreel_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    heavy = [line for line in result.stdout.splitlines() if line.startswith("HEAVY")]
    assert heavy == ["HEAVY []"], result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_configured_database_without_the_schema_names_db_migrate(adreel_env, fresh_database_url):
    env = {**adreel_env, "ADREEL_DATABASE_URL": fresh_database_url}
    result = run_adreel("ledger", "verify", env=env)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "adreel db migrate" in lines[0] and "Traceback" not in result.stderr
    assert run_adreel("db", "migrate", env=env).returncode == 0
    assert run_adreel("ledger", "verify", env=env).returncode == 0


@pytest.fixture
def fresh_home(tmp_path):
    """A home with nothing configured: the embedded PostgreSQL and local objects."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ADREEL_", "PREFECT_"))
    }
    env["ADREEL_HOME"] = str(tmp_path / "home")
    yield env
    _adreel(env, "db", "stop")  # also when the test failed half way


def _adreel(env: dict, *args: str) -> subprocess.CompletedProcess:
    """The command with only ``env`` (run_adreel adds the suite's own settings)."""
    return subprocess.run([ADREEL, *args], env=env, capture_output=True, text=True, timeout=300)


def test_the_first_upload_on_a_fresh_home_sets_the_database_up(fresh_home, tmp_path):
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,price\nP1,Trail shoe,59.00 USD\nP2,Rain jacket,89.00 USD\n")
    uploaded = _adreel(fresh_home, "catalog", "upload", "--merchant", "acme", str(feed), "--json")
    assert uploaded.returncode == 0, uploaded.stderr
    assert json.loads(uploaded.stdout.splitlines()[-1])["accepted"] == 2
    # The server outlives the command, watched for idleness; the next command joins it.
    assert (tmp_path / "home" / "pg-watcher.pid").is_file()
    listed = _adreel(fresh_home, "ledger", "balances", "--merchant", "acme", "--json")
    assert listed.returncode == 0, listed.stderr
    stopped = _adreel(fresh_home, "db", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stderr


WALKTHROUGH_CONTRACT = """\
effective_from: 2026-01-01
currency: USD
modes: [tokens, raas, gmv_share]
tokens:
  price_per_1000: "2.50"
  packs:
    - {name: starter, tokens: 100000, price: "100.00"}
raas:
  - {format: "9x16", duration_s: 6, price: "4.00"}
gmv_share:
  schedule: flat
  tiers:
    - {from: "0", rate: "0.20"}
"""


def _json(env: dict, *args: str) -> dict:
    result = _adreel(env, *args, "--json")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def _ok(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = _adreel(env, *args)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result


def test_the_readme_walkthroughs_on_a_fresh_home(fresh_home, tmp_path):
    """A merchant's and an account manager's campaign, then finance's month, as the
    README writes them, on a home where nobody ran `adreel db migrate`."""
    from catalog.sample import write_sample_catalog

    catalog = write_sample_catalog(tmp_path / "sample")
    _ok(fresh_home, "catalog", "upload", "--merchant", "acme", str(catalog))
    contract = tmp_path / "contract.yaml"
    contract.write_text(WALKTHROUGH_CONTRACT)
    _ok(fresh_home, "contract", "create", "--merchant", "acme", "--file", str(contract))
    _ok(fresh_home, "wallet", "buy", "--merchant", "acme", "--pack", "starter", "--key", "I-1")
    spring = tmp_path / "spring.yaml"
    spring.write_text(
        "campaign: spring-sale\nproducts: {ids: [SKU-1001, SKU-1002]}\n"
        "templates: [showcase]\nformats: ['9x16']\nlanguages: [en_US]\n"
    )
    _ok(fresh_home, "campaign", "create", "--merchant", "acme", "--file", str(spring))
    first = _json(fresh_home, "campaign", "run", "spring-sale")
    assert first["status"] == "awaiting_approval"
    status = _json(fresh_home, "campaign", "status", "spring-sale")
    previews = [m["preview_asset_id"] for m in status["materials"]]
    assert len(previews) == 2 and all(previews)
    _ok(fresh_home, "campaign", "contact-sheet", "spring-sale", "--out", str(tmp_path / "r.png"))
    _ok(fresh_home, "assets", "url", str(previews[0]), "--merchant", "acme")
    _ok(fresh_home, "campaign", "approve", "spring-sale", "--assets", str(previews[0]))
    _ok(fresh_home, "campaign", "reject", "spring-sale", "--assets", str(previews[1]),
        "--reason", "logo cut off")  # fmt: skip
    second = _json(fresh_home, "campaign", "run", "spring-sale")
    assert second["status"] == "delivered" and second["delivery"]["delivered"] == 1
    final = next(
        m["final_asset_id"]
        for m in _json(fresh_home, "campaign", "status", "spring-sale")["materials"]
        if m["final_asset_id"]
    )
    _ok(fresh_home, "assets", "download", str(final), str(tmp_path / "dl"), "--merchant", "acme")

    clicks = tmp_path / "clicks.csv"
    clicks.write_text(
        "event_id,merchant_id,asset_id,kind,customer_key,occurred_at\n"
        f"e1,acme,{final},click,c1,2026-10-03T10:00:00+00:00\n"
    )
    orders = tmp_path / "orders.csv"
    orders.write_text(
        "order_id,line_id,merchant_id,ordered_at,customer_key,product_id,quantity,"
        "unit_price,currency\n"
        "o1,1,acme,2026-10-04T09:00:00+00:00,c1,SKU-1001,2,50.00,USD\n"
    )
    _ok(fresh_home, "finance", "import-interactions", str(clicks))
    accrued = _json(fresh_home, "finance", "import-orders", str(orders))
    assert accrued["accrued_lines"] == 1
    _ok(fresh_home, "finance", "close", "--period", "2026-10")
    statement = _json(
        fresh_home, "finance", "statement", "--merchant", "acme", "--period", "2026-10",
        "--out", str(tmp_path / "statements"),
    )  # fmt: skip
    assert statement["currencies"]["USD"]["accrued_commissions"] == "20.00"
    _ok(fresh_home, "ledger", "verify")


def test_a_prefect_server_that_does_not_start_is_one_line(fresh_home):
    env = {**fresh_home, "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0"}
    result = _adreel(env, "demo", "--limit", "1")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert "PREFECT_API_URL" in lines[0]
