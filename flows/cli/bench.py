"""``adreel bench NAME``: run a benchmark from ``tests/bench/NAME.py``.

Each benchmark measures adreel and a baseline in the same run and returns one dict;
with ``--json`` it is printed as one JSON object on the last line (shape in
ARCHITECTURE.md). Benchmarks run from a source checkout, where ``tests/`` lives.
"""

from __future__ import annotations

import importlib.util
import resource
import sys
from pathlib import Path

import click

from flows.cli.output import emit_json, emit_table
from storage.errors import AdreelError

BENCH_DIR = Path(__file__).resolve().parents[2] / "tests" / "bench"


def available() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.stem.startswith("_"))


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@click.command("bench", context_settings={"ignore_unknown_options": True})
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on the last line.")
@click.argument("options", nargs=-1, type=click.UNPROCESSED)
def bench_command(name: str, as_json: bool, options: tuple[str, ...]) -> None:
    """Run benchmark NAME (see tests/bench/); extra options go to the benchmark."""
    path = BENCH_DIR / f"{name}.py"
    if not path.is_file():
        raise AdreelError(f"no benchmark {name!r}; available: {', '.join(available()) or 'none'}")
    repo_root = str(BENCH_DIR.parents[1])
    if repo_root not in sys.path:  # benchmarks import shared helpers from tests.bench
        sys.path.insert(0, repo_root)
    spec = importlib.util.spec_from_file_location(f"adreel_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:  # benchmarks use the test extra (moto, hypothesis...)
        raise AdreelError(
            f"bench {name} needs {exc.name!r}, part of the test extra: pip install -e '.[test]'"
        ) from None
    result = module.main(list(options), standalone_mode=False)
    result = {"bench": name, **result, "peak_rss_mb": peak_rss_mb()}
    result["ratio"] = round(result["seconds"] / result["baseline_seconds"], 3)
    if as_json:
        emit_json(result)
        return
    extra = result.pop("extra", {})
    emit_table(
        f"bench {name}",
        ["figure", "value"],
        [*result.items(), *((f"extra.{k}", v) for k, v in extra.items())],
    )


def register(cli: click.Group) -> None:
    cli.add_command(bench_command)
