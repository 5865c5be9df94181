"""Webhooks: endpoints per merchant, a durable outbox, signed deliveries with backoff.

Like API keys this is tenancy infrastructure, not a business domain, so it lives in
storage/ where every entry point can reach it. Events are queued by the entry points,
right after the domain call that caused them succeeded: the API handlers (catalog
upload, month close, a campaign run started over the API). The CLI and scheduled runs
(``adreel serve``) queue none yet. An event's id is derived from what caused it (merchant,
catalog version, period, run), so queueing it twice sends it once.

A delivery is a POST of the JSON body with ``Adreel-Signature: t=<unix time>,v1=<hex>``,
where ``v1`` is HMAC-SHA256 of ``"<t>.<body>"`` under the endpoint's secret; receivers
recompute it and refuse a ``t`` outside their replay window (``verify_signature``).
Any 2xx answer delivers it; anything else is retried after 10 s, 20 s, 40 s, … (at most
an hour) and given up after ``MAX_ATTEMPTS`` tries. Every try is in the delivery log.
Workers claim due rows with ``FOR UPDATE SKIP LOCKED``, so any number may run.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from storage.db import Database
from storage.errors import AdreelError, NotFound
from storage.merchants import require_merchant
from storage.queries import query

log = logging.getLogger(__name__)
EVENTS = ("catalog.processed", "previews.ready", "finals.delivered", "period.closed")
SIGNATURE_HEADER = "Adreel-Signature"
REPLAY_WINDOW_S = 300
MAX_ATTEMPTS = 10
FIRST_RETRY_S = 10
LONGEST_RETRY_S = 3600
SEND_TIMEOUT_S = 10
BATCH = 20


class UnknownWebhook(NotFound):
    def __init__(self, endpoint_id: int) -> None:
        super().__init__(f"no webhook endpoint {endpoint_id}")


def add_endpoint(
    db: Database, merchant_id: str, url: str, events: list[str], created_by: int | None = None
) -> dict[str, Any]:
    """A new endpoint: ``{"endpoint_id", ..., "secret"}``; the secret is in this answer only."""
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise AdreelError(f"events: {unknown or 'none'}; choose from {', '.join(EVENTS)}")
    if not url.startswith(("https://", "http://")):
        raise AdreelError(f"url: {url!r} is not an http(s) URL")
    secret = "whsec_" + secrets.token_urlsafe(32)
    params = {
        "merchant_id": merchant_id,
        "url": url,
        "events": sorted(set(events)),
        "secret": secret,
        "created_by": created_by,
    }
    with db.connection() as conn, conn.transaction():
        require_merchant(conn, merchant_id)
        row = conn.execute(query("insert_webhook_endpoint"), params).fetchone()
    return {**row, "secret": secret}


def list_endpoints(db: Database, merchant_id: str) -> list[dict[str, Any]]:
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        return conn.execute(
            query("list_webhook_endpoints"), {"merchant_id": merchant_id}
        ).fetchall()


def remove_endpoint(db: Database, merchant_id: str, endpoint_id: int) -> None:
    """Stop sending to the endpoint; deliveries still queued for it are given up."""
    params = {"merchant_id": merchant_id, "endpoint_id": endpoint_id}
    with db.connection() as conn, conn.transaction():
        require_merchant(conn, merchant_id)
        if conn.execute(query("remove_webhook_endpoint"), params).fetchone() is None:
            raise UnknownWebhook(endpoint_id)
        conn.execute(query("give_up_removed_endpoint"), params)


def deliveries(db: Database, merchant_id: str, endpoint_id: int, limit: int = 100) -> list[dict]:
    """The endpoint's delivery log, newest first, each with its tries."""
    params = {"merchant_id": merchant_id, "endpoint_id": endpoint_id, "limit": limit}
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        if not conn.execute(query("webhook_endpoint_exists"), params).fetchone()["known"]:
            raise UnknownWebhook(endpoint_id)
        return conn.execute(query("list_webhook_deliveries"), params).fetchall()


def emit(db: Database, merchant_id: str, event: str, cause: str, data: dict[str, Any]) -> int:
    """Queue ``event`` for the merchant's endpoints subscribed to it; returns how many
    were queued now. ``cause`` names what happened (e.g. the catalog version): the event
    id derives from it, so the same cause queues once."""
    with db.connection() as conn, conn.transaction():
        return queue_event(conn, merchant_id, event, cause, data)


def queue_event(
    conn: psycopg.Connection, merchant_id: str, event: str, cause: str, data: dict[str, Any]
) -> int:
    """``emit`` inside the caller's transaction: the event is queued if, and only if,
    what caused it commits (domain services call this where the work happens, so that
    the CLI, the API and scheduled flows all send it)."""
    if event not in EVENTS:
        raise ValueError(f"event {event!r}; choose from {', '.join(EVENTS)}")
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"adreel:{merchant_id}:{event}:{cause}"))
    created = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = json.dumps(
        {
            "id": event_id,
            "event": event,
            "merchant_id": merchant_id,
            "created_at": created,
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )
    params = {"merchant_id": merchant_id, "event": event, "event_id": event_id, "body": body}
    return len(conn.execute(query("queue_webhook_event"), params).fetchall())


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Adreel-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, now: float | None = None, window_s: int = REPLAY_WINDOW_S
) -> bool:
    """What a receiver does: the signature matches and ``t`` is within the window."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > window_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _send(url: str, secret: str, row: dict) -> tuple[int | None, str | None]:
    body = row["body"].encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "adreel-webhooks/1",
            "Adreel-Event": row["event"],
            "Adreel-Event-Id": row["event_id"],
            "Adreel-Delivery": str(row["delivery_id"]),
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_S) as answer:
            return answer.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (OSError, ValueError) as exc:
        return None, str(exc)[:500]


def deliver_due(db: Database, limit: int = BATCH) -> dict[str, int]:
    """Send the deliveries due now, once each; returns ``{"delivered", "failed"}``."""
    delivered = failed = 0
    with db.connection() as conn, conn.transaction():
        for row in conn.execute(query("claim_due_deliveries"), {"limit": limit}).fetchall():
            started = time.monotonic()
            status, error = _send(row["url"], row["secret"], row)
            attempt = row["attempts"] + 1
            ok = status is not None and 200 <= status < 300
            delivered, failed = delivered + ok, failed + (not ok)
            conn.execute(
                query("log_webhook_attempt"),
                {
                    "delivery_id": row["delivery_id"],
                    "attempt": attempt,
                    "status_code": status,
                    "error": error,
                    "duration_ms": int((time.monotonic() - started) * 1000),
                },
            )
            conn.execute(
                query("finish_webhook_attempt"),
                {
                    "delivery_id": row["delivery_id"],
                    "attempt": attempt,
                    "delivered": ok,
                    "give_up": attempt >= MAX_ATTEMPTS,
                    "retry_in_s": min(FIRST_RETRY_S * 2 ** (attempt - 1), LONGEST_RETRY_S),
                },
            )
    return {"delivered": delivered, "failed": failed}


def delivery_loop(db: Database, stop: threading.Event, interval_s: float = 1.0) -> None:
    """Deliver until ``stop`` is set: ``adreel webhooks deliver`` and the API's thread."""
    while not stop.is_set():
        try:
            sent = deliver_due(db)
        except psycopg.Error:
            log.warning("webhook delivery: the database failed; trying again", exc_info=True)
            sent = {"delivered": 0, "failed": 0}
        if not any(sent.values()):
            stop.wait(interval_s)
