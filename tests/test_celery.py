"""Render batches travel over Redis to a real `adreel worker` process."""

from __future__ import annotations

import json

from tests.helpers.cli import run_adreel
from tests.helpers.services import BROKER_URL


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
    # The demo sends its 3 jobs as 2 messages (batches of 2); the worker (batch size 4)
    # gathers the second while it starts the first and renders all 3 in one batch.
    assert "gathered 3 requests from 2 messages" in log
    assert "rendered 3, already done 0" in log
