"""A campaign run killed mid-render, and two runs of one campaign at once: nothing is
rendered, stored or charged twice, and nothing is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from catalog.sample import write_sample_catalog
from storage.objects import merchant_prefix
from storage.services import services
from tests.helpers.campaigns import (
    PREVIEW_TOKENS,
    SAMPLE_IDS,
    create_campaign,
    merchant_with_catalog,
    open_holds,
    render_counts,
    wallet,
)
from tests.helpers.cli import ADREEL, cli_json, run_adreel


@pytest.fixture(scope="module")
def sample_catalog(tmp_path_factory) -> Path:
    return write_sample_catalog(tmp_path_factory.mktemp("reliability-sample"))


def start_run(campaign: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [ADREEL, "campaign", "run", campaign, "--json"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_until(condition, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def usage_rows(campaign: str) -> int:
    return sum(c["usage"] for c in render_counts(campaign))


def test_a_run_killed_mid_render_completes_on_rerun_once(adreel_env, sample_catalog, tmp_path):
    env = {**adreel_env, "ADREEL_RENDER_BATCH_SIZE": "1"}
    merchant = merchant_with_catalog(env, sample_catalog, tmp_path)
    campaign = create_campaign(env, merchant, tmp_path, products={"ids": SAMPLE_IDS[:5]})

    killed = start_run(campaign, env)
    wait_until(lambda: usage_rows(campaign) >= 2, killed)
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert usage_rows(campaign) < 5  # it really died mid-run

    rerun = cli_json("campaign", "run", campaign, env=env)
    assert rerun["previews"]["rendered"] + rerun["previews"]["reused"] == 5
    counts = render_counts(campaign)
    assert len(counts) == 5
    assert all((c["assets"], c["usage"]) == (3, 1) for c in counts), counts
    # Every hold the killed run placed was charged or released; each render charged once.
    assert open_holds(merchant) == 0
    assert wallet(env, merchant)["balance"] == str(100000 - 5 * PREVIEW_TOKENS)
    assert cli_json("ledger", "verify", "--merchant", merchant, env=env)["ok"] is True
    runs = cli_json("campaign", "status", campaign, env=env)["runs"]
    assert [r["status"] for r in runs] == ["awaiting_approval", "interrupted"]

    swept = run_adreel("assets", "sweep", "--grace-hours", "0", "--apply", env=env)
    assert swept.returncode == 0, swept.stderr
    svc = services()
    with svc.db.connection() as conn:
        referenced = {
            row["key"]
            for row in conn.execute(
                "SELECT object_key AS key FROM assets WHERE merchant_id = %s "
                "UNION SELECT image_key FROM products WHERE merchant_id = %s",
                (merchant, merchant),
            )
        }
    stored = {
        info.key for info in svc.store.list(merchant_prefix(svc.settings.s3_prefix, merchant))
    }
    assert stored == referenced  # no orphan objects, no row without its object


def test_two_runs_of_one_campaign_at_once_one_is_refused(adreel_env, sample_catalog, tmp_path):
    # One job per batch: the first run is still rendering while the second starts up.
    env = {**adreel_env, "ADREEL_RENDER_BATCH_SIZE": "1"}
    merchant = merchant_with_catalog(env, sample_catalog, tmp_path)
    campaign = create_campaign(env, merchant, tmp_path, products={"ids": SAMPLE_IDS[:8]})

    first = start_run(campaign, env)
    wait_until(lambda: usage_rows(campaign) >= 1, first)
    second = run_adreel("campaign", "run", campaign, "--json", env=env)
    assert usage_rows(campaign) < 8  # the first run was still going
    assert second.returncode == 1
    assert f"adreel: campaign {campaign} is already running" in second.stderr
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["previews"]["rendered"] == 8
    assert all((c["assets"], c["usage"]) == (3, 1) for c in render_counts(campaign))
    assert open_holds(merchant) == 0
