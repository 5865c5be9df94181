"""bench api: 64 concurrent connections for 20 s against the product list (a catalog of
10,000 products, first page of 100) and a campaign's status, through `adreel api`; in
the same run the baseline, a constant JSON endpoint served by uvicorn with the same
settings (one worker, the same host). Load comes from wrk (Debian's `wrk`). Runs in a
database of its own on the configured server.

``throughput`` is adreel's requests a second over both endpoints, ``ratio`` the
baseline's rate over adreel's (target at most 3.3), ``extra.p99_ms`` adreel's worst p99.
Targets (issue 19): at least 30% of the baseline's rate, p99 at most 150 ms, no errors.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import httpx

from campaigns.runs import plan_previews
from campaigns.service import save_campaign_spec
from catalog.upload import upload_catalog
from storage.keys import create_key
from storage.services import Services
from storage.settings import get_settings
from tests.bench._scratch import scratch_database
from tests.helpers.services import free_port

ADREEL = str(Path(sys.executable).with_name("adreel"))
BASELINE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/constant")
def constant():
    return {"ok": True, "service": "adreel", "version": 1}
"""


@click.command()
@click.option("--seconds", default=20, show_default=True, help="Load per endpoint.")
@click.option("--connections", default=64, show_default=True)
@click.option("--products", default=10_000, show_default=True)
def main(seconds: int, connections: int, products: int) -> dict:
    if shutil.which("wrk") is None:
        raise click.ClickException("bench api needs wrk: apt-get install wrk")
    with scratch_database() as db, tempfile.TemporaryDirectory(prefix="adreel-bench-api-") as home:
        env = {**os.environ, "ADREEL_DATABASE_URL": db.url, "ADREEL_HOME": home}
        env |= {"ADREEL_API_RATE_PER_S": "0", "ADREEL_API_WEBHOOK_DELIVERY": "false"}
        merchant, key, campaign = _seed(Services(get_settings(), db), home, products)
        adreel = _serve([ADREEL, "api", "--port", "{port}"], env, "/healthz")
        baseline = _serve(
            [sys.executable, "-m", "uvicorn", "bench_constant:app", "--port", "{port}",
             "--log-level", "warning", "--no-access-log"],
            {**env, "PYTHONPATH": _baseline_dir(home)},
            "/constant",
        )  # fmt: skip
        try:
            auth = f"Authorization: Bearer {key}"
            listing = _wrk(adreel, f"/v1/merchants/{merchant}/products", auth, seconds, connections)
            status = _wrk(
                adreel, f"/v1/merchants/{merchant}/campaigns/{campaign}", auth, seconds, connections
            )
            constant = _wrk(baseline, "/constant", None, seconds, connections)
        finally:
            for server in (adreel, baseline):
                server["process"].terminate()
                server["process"].wait(timeout=30)
    rate = 2 / (1 / listing["rps"] + 1 / status["rps"])  # both endpoints, equal shares
    return {
        # per request under load, so that seconds / baseline_seconds is the baseline's
        # rate over adreel's
        "seconds": round(1 / rate, 6),
        "baseline_seconds": round(1 / constant["rps"], 6),
        "throughput": round(rate, 1),
        "unit": "requests/s",
        "extra": {
            "products_rps": listing["rps"],
            "products_p99_ms": listing["p99_ms"],
            "status_rps": status["rps"],
            "status_p99_ms": status["p99_ms"],
            "baseline_rps": constant["rps"],
            "baseline_p99_ms": constant["p99_ms"],
            "p99_ms": max(listing["p99_ms"], status["p99_ms"]),
            "errors": listing["errors"] + status["errors"],
            "share_of_baseline": round(rate / constant["rps"], 3),
            "connections": connections,
            "seconds_each": seconds,
        },
    }


def _seed(services: Services, home: str, products: int) -> tuple[str, str, str]:
    """A merchant with ``products`` products, a campaign with planned previews, a key."""
    feed = Path(home) / "feed.tsv"
    rows = [f"P{n:06d}\tProduct {n}\t{10 + n % 90}.00 USD" for n in range(products)]
    feed.write_text("id\ttitle\tprice\n" + "\n".join(rows) + "\n")
    upload_catalog(services, "bench", feed, images="defer")
    spec = {"campaign": "bench", "products": {"ids": [f"P{n:06d}" for n in range(20)]}}
    save_campaign_spec(services.db, "bench", spec, "bench")
    plan_previews(services, "bench")
    with services.db.connection() as conn:
        # the planner's statistics, as autovacuum leaves them within a minute of a big
        # upload: without them the first page sorts the whole catalog
        conn.execute("ANALYZE")
    return "bench", create_key(services.db, "merchant", "bench")["key"], "bench"


def _baseline_dir(home: str) -> str:
    folder = Path(home) / "baseline"
    folder.mkdir()
    (folder / "bench_constant.py").write_text(BASELINE_APP)
    return str(folder)


def _serve(command: list[str], env: dict, ready: str) -> dict:
    port = free_port()
    process = subprocess.Popen(
        [part.format(port=port) for part in command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + ready, timeout=2).status_code == 200:
                return {"process": process, "base": base}
        except httpx.TransportError:
            time.sleep(0.3)
    process.kill()
    raise click.ClickException(f"{command[0]} did not start on port {port}")


def _wrk(server: dict, path: str, header: str | None, seconds: int, connections: int) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        command += ["-H", header]
    out = subprocess.run(
        [*command, server["base"] + path], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99[2]]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    errors += sum(map(int, sockets.groups())) if sockets else 0
    return {"rps": round(rps, 1), "p99_ms": round(float(p99[1]) * scale, 1), "errors": errors}
