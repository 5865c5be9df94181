"""The Celery app that carries render batches to GPU workers.

Start a worker with ``adreel worker``. Tasks take job ids and re-read state, so a
redelivery after a worker crash (``acks_late``) renders only what is not done yet. A
task gathers more queued render messages before it renders (``generation.batching``),
so requests from different runs share pipeline calls.
"""

from __future__ import annotations

import logging
import re

from celery import Celery

from generation.batching import gathered_batch
from generation.rendering import render_batch
from storage.services import services
from storage.settings import Settings, get_settings

log = logging.getLogger(__name__)

_settings = get_settings()
app = Celery("adreel")
app.conf.update(
    broker_url=_settings.broker_url or "memory://",
    task_default_queue="render.default",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    # A batch that runs away is stopped: soft limit first (the task can clean up), then hard.
    task_soft_time_limit=_settings.render_soft_time_limit_s,
    task_time_limit=_settings.render_soft_time_limit_s + 120,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    broker_transport_options={"visibility_timeout": _settings.broker_visibility_timeout_s},
    accept_content=["json"],
)


def render_queue(settings: Settings) -> str:
    """ADREEL_RENDER_QUEUE, else one queue per model so a fleet can mix GPU types:
    ``render.builtin-tiny``."""
    if settings.render_queue:
        return settings.render_queue
    slug = re.sub(r"[^A-Za-z0-9]+", "-", settings.model).strip("-").lower()
    return f"render.{slug or 'default'}"


@app.task(
    bind=True,
    name="adreel.render_batch",
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=2,
    retry_jitter=True,
    max_retries=3,
)
def render_batch_task(self, request_hashes: list[str]) -> int:
    opened = services()  # one pool and store per worker process, made on first task
    settings = opened.settings
    queue = (self.request.delivery_info or {}).get("routing_key") or render_queue(settings)
    with gathered_batch(
        app,
        self.name,
        queue,
        request_hashes,
        max_batch=settings.render_batch_size,
        max_wait_s=settings.batch_max_wait_ms / 1000,
    ) as batch:
        result = render_batch(batch.request_hashes, settings, opened.db, opened.store)
    log.info("rendered %d, already done %d", len(result.rendered), len(result.skipped))
    return len(result.rendered)
