"""bench cli: how long a person waits for a command that does not render, on a fresh
home with nothing configured (the embedded PostgreSQL, local objects).

Timed: ``adreel --help`` and ``adreel assets list`` (a database command), each the
median of ``--runs`` runs after one untimed first run (which starts the embedded server
and migrates it; reported as ``first_run_s``). Baseline in the same run: the
interpreter starting and importing click (``python -c "import click"``), the floor any
Python CLI pays. ``seconds`` is the database command's median; targets on a 2-core
machine: ``--help`` under 1 s, the database command under 2 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

ADREEL = str(Path(sys.executable).with_name("adreel"))


def _timed(args: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(args, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def _median(args: list[str], env: dict, runs: int) -> float:
    return statistics.median(_timed(args, env) for _ in range(runs))


@click.command()
@click.option("--runs", default=7, show_default=True, help="Timed runs of each command.")
def main(runs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="adreel-bench-cli-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ADREEL_", "PREFECT_"))}
        env["ADREEL_HOME"] = home
        listing = [ADREEL, "assets", "list", "--merchant", "bench"]
        try:
            first = _timed(listing, env)
            help_s = _median([ADREEL, "--help"], env, runs)
            listing_s = _median(listing, env, runs)
            baseline = _median([sys.executable, "-c", "import click"], env, runs)
        finally:
            subprocess.run([ADREEL, "db", "stop"], env=env, capture_output=True)
    return {
        "seconds": round(listing_s, 3),
        "baseline_seconds": round(baseline, 3),
        "throughput": round(1 / listing_s, 2),
        "unit": "commands/s",
        "extra": {
            "help_s": round(help_s, 3),
            "db_command_s": round(listing_s, 3),
            "first_run_s": round(first, 3),
            "help_ratio": round(help_s / baseline, 2),
            "runs": runs,
        },
    }
