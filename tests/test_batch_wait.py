"""Cross-campaign batching on a real worker over Redis: requests sent by different
producers within ADREEL_BATCH_MAX_WAIT_MS share one pipeline call; a lone request waits
no longer than that; a worker killed holding gathered messages loses none of them."""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from campaigns.planning import plan_renders
from catalog.products import list_products
from catalog.sample import write_sample_catalog
from catalog.upload import upload_catalog
from generation.dispatch import run_render_jobs
from generation.jobs import usage_for_renders
from storage.services import services
from storage.settings import get_settings
from tests.helpers.ledger import new_merchant
from tests.helpers.services import BROKER_URL
from tests.helpers.worker import start_worker

BATCH_WAIT_MS = 2500
# A broker of its own for the kill test: its 5 s visibility timeout restores any unacked
# message on its database, so no other worker's messages may live there.
KILL_BROKER = "redis://127.0.0.1:6379/12"


def worker_env(adreel_env: dict, broker: str, queue: str, **extra: str) -> dict:
    return {
        **os.environ,
        **adreel_env,
        "ADREEL_BROKER_URL": broker,
        "ADREEL_RENDER_QUEUE": queue,
        "ADREEL_RENDER_BATCH_SIZE": "2",
        "ADREEL_BATCH_MAX_WAIT_MS": str(BATCH_WAIT_MS),
        **extra,
    }


def producer(broker: str, queue: str):
    """A run elsewhere (its own campaign) sending its own render messages."""
    svc = services()
    settings = get_settings().model_copy(
        update={"broker_url": broker, "render_queue": queue, "render_timeout_s": 300}
    )
    return lambda hashes: run_render_jobs(hashes, settings, svc.db, svc.store)


@pytest.fixture(scope="module")
def catalog(adreel_env, tmp_path_factory) -> tuple[str, list[str]]:
    svc = services()
    with svc.db.connection() as conn:
        merchant = new_merchant(conn, "batch")
    upload_catalog(svc, merchant, write_sample_catalog(tmp_path_factory.mktemp("catalog")))
    with svc.db.connection() as conn:
        return merchant, [p["product_id"] for p in list_products(conn, merchant)]


@pytest.fixture(scope="module")
def batching_worker(adreel_env, tmp_path_factory):
    queue = f"render.batch-{uuid.uuid4().hex[:8]}"
    log_path = tmp_path_factory.mktemp("batching") / "worker.log"
    worker = start_worker(worker_env(adreel_env, BROKER_URL, queue), log_path)
    yield queue, log_path
    worker.terminate()
    worker.wait(timeout=60)


def usage_per_request(hashes: list[str]) -> dict[str, int]:
    with services().db.connection() as conn:
        rows = usage_for_renders(conn, hashes)
    return {h: sum(1 for r in rows if r["request_hash"] == h) for h in hashes}


def test_two_producers_within_the_wait_share_one_pipeline_call(catalog, batching_worker):
    merchant, products = catalog
    queue, log_path = batching_worker
    start = len(log_path.read_text())
    hashes = plan_renders(services(), merchant, products[:2], "preview")
    send = producer(BROKER_URL, queue)
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda h: send([h]), hashes))
    assert [run.rendered for run in runs] == [1, 1]
    log = log_path.read_text()[start:]
    assert "gathered 2 requests from 2 messages" in log
    assert re.findall(r"rendering (\d+) requests at", log) == ["2"]  # one call, both
    assert usage_per_request(hashes) == dict.fromkeys(hashes, 1)


def test_a_lone_request_is_rendered_once_the_wait_is_over(catalog, batching_worker):
    merchant, products = catalog
    queue, log_path = batching_worker
    start = len(log_path.read_text())
    hashes = plan_renders(services(), merchant, products[2:3], "preview")
    started = time.monotonic()
    run = producer(BROKER_URL, queue)(hashes)
    elapsed = time.monotonic() - started
    log = log_path.read_text()[start:]
    waited = re.search(r"gathered 1 requests from 1 messages after waiting (\d+) ms", log)
    assert waited, log
    assert BATCH_WAIT_MS <= int(waited[1]) < BATCH_WAIT_MS + 1000
    assert re.findall(r"rendering (\d+) requests at", log) == ["1"]
    assert run.rendered == 1 and elapsed < 60
    assert usage_per_request(hashes) == dict.fromkeys(hashes, 1)


def test_a_killed_worker_loses_none_of_the_messages_it_gathered(catalog, adreel_env, tmp_path):
    merchant, products = catalog
    queue = f"render.batch-kill-{uuid.uuid4().hex[:8]}"
    env = worker_env(adreel_env, KILL_BROKER, queue, ADREEL_BROKER_VISIBILITY_TIMEOUT_S="5")
    first = start_worker(env, tmp_path / "first.log")
    hashes = plan_renders(services(), merchant, products[3:5], "preview")
    send = producer(KILL_BROKER, queue)
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(send, [h]) for h in hashes]
        deadline = time.monotonic() + 120
        while "gathered 2 requests" not in (tmp_path / "first.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()
            time.sleep(0.1)
        time.sleep(0.5)  # rendering the gathered batch
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        second = start_worker(env, tmp_path / "second.log")
        try:
            assert [run.result(timeout=300).rendered for run in runs] == [1, 1]
        finally:
            second.terminate()
            second.wait(timeout=60)
    assert "Task adreel.render_batch" in (tmp_path / "second.log").read_text()
    assert usage_per_request(hashes) == dict.fromkeys(hashes, 1)
    with services().db.connection() as conn:
        assets = conn.execute(
            "SELECT request_hash, count(*) AS n FROM assets WHERE request_hash = ANY(%s) "
            "GROUP BY request_hash",
            [hashes],
        ).fetchall()
    assert {row["request_hash"]: row["n"] for row in assets} == dict.fromkeys(hashes, 3)
