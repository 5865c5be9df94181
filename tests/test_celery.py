"""Render batches travel over Redis to a real `adreel worker` process."""

from __future__ import annotations

import json

from tests.conftest import BROKER_URL, run_adreel


def test_demo_renders_on_the_celery_worker(celery_worker, adreel_env):
    env = {**adreel_env, "ADREEL_BROKER_URL": BROKER_URL, "ADREEL_RENDER_BATCH_SIZE": "2"}
    result = run_adreel(
        "demo", "--merchant", "celery-m", "--limit", "3", "--json", env=env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["renders"] == {"rendered": 3, "reused": 0}
    assert len([a for a in summary["assets"] if a["kind"] == "video"]) == 3
    log = celery_worker.read_text()
    assert log.count("adreel.render_batch") >= 2  # 3 jobs in batches of 2
    assert "rendered 2, already done 0" in log and "rendered 1, already done 0" in log
