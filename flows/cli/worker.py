"""``adreel worker``: a Celery worker that renders batches (one per GPU)."""

from __future__ import annotations

import logging

import click

from flows.services import preflight
from storage.errors import ConfigError
from storage.settings import get_settings


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Render processes; one per GPU.",
)
@click.option(
    "--queue",
    "queues",
    help="Queues to consume, comma-separated (default: ADREEL_RENDER_QUEUE, else the queue "
    "of ADREEL_MODEL, e.g. render.builtin-tiny; one queue per model lets a fleet mix GPUs).",
)
@click.option("--loglevel", default="INFO", show_default=True)
def worker_command(concurrency: int, queues: str | None, loglevel: str) -> None:
    """Consume render batches from ADREEL_BROKER_URL (redis:// or amqp://).

    Each batch gathers queued requests from any run up to ADREEL_RENDER_BATCH_SIZE,
    waiting at most ADREEL_BATCH_MAX_WAIT_MS for them; ADREEL_TORCH_COMPILE compiles
    the transformer on CUDA.
    """
    settings = get_settings()
    if not settings.broker_url:
        raise ConfigError(
            "ADREEL_BROKER_URL", "not set: a worker needs a broker, e.g. redis://localhost:6379/0"
        )
    # Database, object store, broker and the model itself, loaded once for every batch.
    preflight(settings, load_model=True)
    from generation.celery_app import app, render_queue

    queues = queues or render_queue(settings)

    logging.getLogger().setLevel(loglevel.upper())
    for handler in logging.getLogger().handlers:  # the worker logs at its own --loglevel
        handler.setLevel(loglevel.upper())
    # One process per GPU: the solo pool keeps the model in the process that loaded it.
    pool = "solo" if concurrency == 1 else "prefork"
    app.worker_main(
        [
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--queues={queues}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


def register(cli: click.Group) -> None:
    cli.add_command(worker_command)
