"""A worker killed with SIGKILL mid-batch: the batch goes to another worker, and every
request ends with exactly one asset set and one usage row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from storage.services import services
from tests.helpers.cli import ADREEL, run_adreel
from tests.helpers.worker import start_worker

BROKER = "redis://127.0.0.1:6379/14"  # a broker of its own: the session's worker stays out


def test_a_killed_workers_batch_is_redelivered_and_rendered_once(adreel_env, tmp_path):
    env = {
        **os.environ,
        **adreel_env,
        "ADREEL_BROKER_URL": BROKER,
        "ADREEL_BROKER_VISIBILITY_TIMEOUT_S": "5",
        "ADREEL_RENDER_BATCH_SIZE": "4",
    }
    first = start_worker(env, tmp_path / "first.log")
    demo = subprocess.Popen(
        [ADREEL, "demo", "--merchant", "crash-m", "--limit", "4", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while "Task adreel.render_batch" not in (tmp_path / "first.log").read_text():
        assert time.monotonic() < deadline and demo.poll() is None
        time.sleep(0.2)
    time.sleep(1.0)  # mid-batch: the model is loaded and rendering
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    second = start_worker(env, tmp_path / "second.log")
    try:
        out, err = demo.communicate(timeout=400)
    finally:
        second.terminate()
        second.wait(timeout=60)
    assert demo.returncode == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["renders"]["rendered"] == 4
    assert "Task adreel.render_batch" in (tmp_path / "second.log").read_text()
    with services().db.connection() as conn:
        counts = conn.execute(
            """SELECT j.request_hash,
                      (SELECT count(*) FROM assets a
                        WHERE a.request_hash = j.request_hash) AS assets,
                      (SELECT count(*) FROM render_usage u
                        WHERE u.request_hash = j.request_hash) AS usage
               FROM render_jobs j WHERE j.merchant_id = 'crash-m'"""
        ).fetchall()
    assert len(counts) == 4
    assert all((c["assets"], c["usage"]) == (3, 1) for c in counts), counts
    listed = json.loads(
        run_adreel("assets", "list", "--merchant", "crash-m", "--json", env=adreel_env).stdout
    )
    assert len(listed["assets"]) == 12  # a video, a poster and a thumbnail each
