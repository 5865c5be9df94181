"""Cross-campaign batching on the worker: gather queued render messages into one batch.

Producers (campaign runs, the CLI) each send their own messages; a worker that takes one
waits up to ``ADREEL_BATCH_MAX_WAIT_MS`` for more from the same queue, until it holds
``ADREEL_RENDER_BATCH_SIZE`` requests, then renders them together: requests of the same
shape share a pipeline call whichever run sent them. A lone request is rendered when the
wait is over, never held longer.

Why our own accumulator, not celery-batches (evaluated against it):

- celery-batches buffers in the consumer, so the broker must hand a worker more than one
  message ahead: it needs ``worker_prefetch_multiplier=0`` (unbounded) or a product
  above ``flush_every``. With ``acks_late`` a worker then reserves a whole backlog that
  an idle GPU next to it cannot take, and a Redis message reserved longer than the
  visibility timeout is handed to a second worker while the first still holds it.
  Here prefetch stays 1: a worker takes more messages only when it is about to render
  them, and only as many as fill one batch.
- Its flush runs the batch function through the pool directly, outside Celery's task
  tracing: no per-request state or result (each request must be marked by hand), and
  the task's soft and hard time limits are not passed on. Here the gathered messages
  ride inside an ordinary task, with its time limits, retries and ``acks_late``.
- Its size trigger is a running count of messages received (every ``flush_every``-th
  one flushes whatever is buffered), so after a timed flush a batch is cut short; here
  the count is of the requests in hand, and the wait starts when a batch does.

Guarantees kept: a gathered message is taken unacknowledged (``basic_get`` without
``no_ack``) and acknowledged only once its requests are rendered or recorded as failed,
so a worker killed mid-batch has every message redelivered, as its own task message is
(``acks_late``, ``task_reject_on_worker_lost``); each request is still rendered by
``render_batch``, which skips what is done and fails an unreadable image alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kombu import Queue

log = logging.getLogger(__name__)
POLL_INTERVAL_S = 0.05
# Faults the task retries: gathered messages go back to the queue for another try.
RETRYABLE = (ConnectionError, TimeoutError)


@dataclass
class Gathered:
    request_hashes: list[str]
    messages: list = field(default_factory=list)  # taken from the queue, not yet acked
    waited_s: float = 0.0


@contextmanager
def gathered_batch(
    app,
    task_name: str,
    queue_name: str,
    first_hashes: list[str],
    max_batch: int,
    max_wait_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Gathered]:
    """Yield ``first_hashes`` plus those of messages gathered from ``queue_name``; ack
    the gathered messages when the block ends (or requeue them on a retryable fault)."""
    with app.connection_for_read() as connection:
        queue = app.amqp.queues.get(queue_name) or Queue(queue_name)
        bound = queue(connection.default_channel)
        batch = Gathered(list(first_hashes))
        started = clock()
        while len(batch.request_hashes) < max_batch:
            message = bound.get(no_ack=False, accept=["json"])
            if message is None:
                if clock() - started >= max_wait_s:
                    break
                time.sleep(POLL_INTERVAL_S)
                continue
            if message.headers.get("task") != task_name:
                message.requeue()  # not a render batch: leave it to its own consumer
                continue
            args, kwargs, _embed = message.decode()
            batch.request_hashes.extend(args[0] if args else kwargs["request_hashes"])
            batch.messages.append(message)
        batch.waited_s = clock() - started
        log.info(
            "gathered %d requests from %d messages after waiting %d ms",
            len(batch.request_hashes),
            len(batch.messages) + 1,
            round(batch.waited_s * 1000),
        )
        try:
            yield batch
        except RETRYABLE:
            _settle(batch.messages, "requeue")
            raise
        except Exception:
            # Recorded as failed on the jobs, like the task's own message: acknowledged.
            _settle(batch.messages, "ack")
            raise
        except BaseException:
            _settle(batch.messages, "requeue")  # shutting down: another worker takes them
            raise
        _settle(batch.messages, "ack")


def _settle(messages: list, how: str) -> None:
    for message in messages:
        getattr(message, how)()
