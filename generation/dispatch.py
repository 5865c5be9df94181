"""Run planned render jobs: on Celery workers when a broker is set, in-process otherwise.

Either way the same ``render_batch`` does the work. With Celery, progress is read
from the jobs' rows in PostgreSQL, so no result backend is needed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from generation.jobs import (
    count_by_status,
    failed_errors,
    mark_render_jobs,
    pending_render_jobs,
)
from storage.db import Database
from storage.errors import AdreelError, ConfigError
from storage.objects import ObjectStore
from storage.settings import Settings

log = logging.getLogger(__name__)
POLL_INTERVAL_S = 0.5


@dataclass(frozen=True)
class RenderRun:
    rendered: int
    reused: int


class RenderFailed(AdreelError):
    """Some render jobs failed; the message lists them."""


def run_render_jobs(
    request_hashes: list[str],
    settings: Settings,
    db: Database,
    store: ObjectStore,
    on_progress: Callable[[int], None] | None = None,
) -> RenderRun:
    """Render every job not yet done, in batches; raise RenderFailed naming failures."""
    with db.connection() as conn:
        pending = pending_render_jobs(conn, request_hashes)
    if on_progress and len(pending) < len(request_hashes):
        on_progress(len(request_hashes) - len(pending))
    size = settings.render_batch_size
    batches = [pending[i : i + size] for i in range(0, len(pending), size)]
    if settings.broker_url:
        _run_on_workers(batches, settings, db, on_progress)
    else:
        from generation.rendering import render_batch

        for batch in batches:
            try:
                render_batch(batch, settings, db, store, on_job_done=on_progress)
            except AdreelError:
                raise
            except Exception:
                # Recorded on the jobs and reported below with any others.
                log.warning("render batch failed", exc_info=True)
    _raise_failures(request_hashes, db)
    return RenderRun(rendered=len(pending), reused=len(request_hashes) - len(pending))


def _run_on_workers(
    batches: list[list[str]],
    settings: Settings,
    db: Database,
    on_progress: Callable[[int], None] | None,
) -> None:
    from generation.celery_app import app, render_batch_task, render_queue

    # An explicit connection: the broker named by these settings, whatever the app's default.
    with app.connection_for_write(settings.broker_url) as connection:
        _ensure_broker(connection)
        with db.connection() as conn:
            mark_render_jobs(conn, [h for batch in batches for h in batch], "queued")
        queue = render_queue(settings)
        for batch in batches:
            render_batch_task.apply_async(args=[batch], connection=connection, queue=queue)
    _wait_for_workers([h for batch in batches for h in batch], settings, db, on_progress)


def check_broker(broker_url: str) -> None:
    """Raise ConfigError naming ADREEL_BROKER_URL unless the broker answers."""
    from generation.celery_app import app

    with app.connection_for_write(broker_url) as connection:
        _ensure_broker(connection)


def _ensure_broker(connection) -> None:
    try:
        connection.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        raise ConfigError("ADREEL_BROKER_URL", f"cannot reach the broker: {exc}") from exc


def _wait_for_workers(
    request_hashes: list[str],
    settings: Settings,
    db: Database,
    on_progress: Callable[[int], None] | None,
) -> None:
    deadline = time.monotonic() + settings.render_timeout_s
    finished_before = 0
    while True:
        with db.connection() as conn:
            counts = count_by_status(conn, request_hashes)
        finished = counts.get("done", 0) + counts.get("failed", 0)
        if on_progress and finished > finished_before:
            on_progress(finished - finished_before)
        finished_before = finished
        if finished >= len(request_hashes):
            return
        if time.monotonic() > deadline:
            raise RenderFailed(
                f"{len(request_hashes) - finished} renders still queued after "
                f"{settings.render_timeout_s}s: is an `adreel worker` running? "
                "(ADREEL_RENDER_TIMEOUT_S sets the wait)"
            )
        time.sleep(POLL_INTERVAL_S)


def _raise_failures(request_hashes: list[str], db: Database) -> None:
    with db.connection() as conn:
        failures = failed_errors(conn, request_hashes)
    if failures:
        first = failures[0]
        raise RenderFailed(
            f"{len(failures)} of {len(request_hashes)} renders failed; first: "
            f"product {first['product_id']}: {first['error']}"
        )
