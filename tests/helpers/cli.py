"""Running the installed ``adreel`` command as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ADREEL = str(Path(sys.executable).with_name("adreel"))


def run_adreel(*args: str, env: dict[str, str] | None = None, timeout: int = 300):
    """Run the installed `adreel` command as a user would; return the CompletedProcess."""
    return subprocess.run(
        [ADREEL, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def cli_ok(*args: str, env: dict, timeout: int = 600) -> str:
    result = run_adreel(*args, env=env, timeout=timeout)
    assert result.returncode == 0, result.stderr
    return result.stdout


def cli_json(*args: str, env: dict, timeout: int = 600) -> dict:
    return json.loads(cli_ok(*args, "--json", env=env, timeout=timeout).strip().splitlines()[-1])
