"""Generation: clip model tiers and adapters, the batch engine, worker-side batching,
metering, the Celery app and ``render_batch`` (clips composed into ads by ``composer``)."""
