"""Real services for the suite: PostgreSQL, S3 over HTTP (moto's server), Redis + a worker.

PostgreSQL: ADREEL_TEST_DATABASE_URL (CI: the local server), else an embedded server.
Each test session gets its own database, dropped at the end. Nothing is skipped when
a service is missing: the fixture fails and says which one.

Only fixtures live here; helpers shared by test files are in ``tests/helpers/``. The
ledger check after the suite is a test of its own: ``tests/test_zz_ledger_after_suite.py``.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from storage.db import Database
from storage.migrations import migrate
from storage.services import close_services
from tests.helpers.cli import ADREEL
from tests.helpers.services import (
    BROKER_URL,
    TEST_BUCKET,
    create_database,
    drop_database,
    free_port,
)


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory) -> Iterator[str]:
    url = os.environ.get("ADREEL_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield server.get_uri()


@pytest.fixture
def fresh_database_url(pg_admin_url) -> Iterator[str]:
    """An empty database of its own, for tests of the schema itself."""
    url = create_database(pg_admin_url)
    yield url
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def database_url(pg_admin_url) -> Iterator[str]:
    url = create_database(pg_admin_url)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
    yield url
    close_services()
    drop_database(pg_admin_url, url)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket=TEST_BUCKET
    )
    yield endpoint
    server.stop()


@pytest.fixture(scope="session")
def adreel_env(tmp_path_factory, database_url, s3_endpoint) -> dict[str, str]:
    """The environment every adreel process in the session uses: test DB, S3, one home."""
    env = {
        "ADREEL_HOME": str(tmp_path_factory.mktemp("home")),
        "ADREEL_DATABASE_URL": database_url,
        "ADREEL_S3_BUCKET": TEST_BUCKET,
        "ADREEL_S3_ENDPOINT_URL": s3_endpoint,
        "ADREEL_S3_PATH_STYLE": "true",
        "AWS_ACCESS_KEY_ID": os.environ["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ["AWS_SECRET_ACCESS_KEY"],
        # A queue of its own: two test sessions on one Redis never take each other's work.
        "ADREEL_RENDER_QUEUE": f"render.test-{uuid.uuid4().hex[:8]}",
        # The tests render with builtin:tiny, random weights whose clips are noise by
        # design: the visual check records its noise test as skipped rather than failing
        # every ad (tests/test_visual_check.py tests it).
        "ADREEL_QA_SKIP": "noise",
        # The suite tests the diffusers path (builtin:motion, the default, has its own
        # tests in test_motion.py, which set it explicitly).
        "ADREEL_MODEL": "builtin:tiny",
    }
    for name in [n for n in os.environ if n.startswith("ADREEL_") and n not in env]:
        if not name.startswith("ADREEL_TEST_"):
            del os.environ[name]
    os.environ.update(env)
    return env


@pytest.fixture
def db(adreel_env) -> Iterator[Database]:
    with Database(adreel_env["ADREEL_DATABASE_URL"], max_size=2) as database:
        yield database


@pytest.fixture
def conn(db) -> Iterator[psycopg.Connection]:
    """One connection from the session database's pool (``db.connection()``), per test."""
    with db.connection() as connection:
        yield connection


@pytest.fixture(scope="session")
def celery_worker(adreel_env, tmp_path_factory) -> Iterator[Path]:
    """A real `adreel worker` process on Redis; yields the path of its log."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {**os.environ, **adreel_env, "ADREEL_BROKER_URL": BROKER_URL}
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [ADREEL, "worker", "--loglevel=INFO"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while "ready." not in log_path.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
        time.sleep(0.5)
    yield log_path
    worker.terminate()
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
