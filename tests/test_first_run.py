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
