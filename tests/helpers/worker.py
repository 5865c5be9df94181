"""Starting an extra ``adreel worker`` of a test's own (the session has one: the
``celery_worker`` fixture)."""

from __future__ import annotations

import subprocess
import time

from tests.helpers.cli import ADREEL


def start_worker(env: dict, log_path) -> subprocess.Popen:
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [ADREEL, "worker", "--loglevel=INFO"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while "ready." not in log_path.read_text():
        assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.3)
    return worker
