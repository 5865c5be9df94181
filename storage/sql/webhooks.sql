-- Webhook endpoints, the outbox and the delivery log (see storage/webhooks.py).

-- name: insert_webhook_endpoint
-- A new endpoint of a merchant.
INSERT INTO webhook_endpoints (merchant_id, url, events, secret, created_by)
VALUES (%(merchant_id)s, %(url)s, %(events)s, %(secret)s, %(created_by)s)
RETURNING endpoint_id, merchant_id, url, events, created_at;

-- name: list_webhook_endpoints
-- A merchant's live endpoints, oldest first, without their secrets.
SELECT endpoint_id, merchant_id, url, events, created_at
FROM webhook_endpoints
WHERE merchant_id = %(merchant_id)s AND removed_at IS NULL
ORDER BY endpoint_id;

-- name: remove_webhook_endpoint
-- Stop sending to an endpoint of this merchant (queued deliveries are given up).
UPDATE webhook_endpoints SET removed_at = now()
WHERE endpoint_id = %(endpoint_id)s AND merchant_id = %(merchant_id)s AND removed_at IS NULL
RETURNING endpoint_id;

-- name: give_up_removed_endpoint
-- Queued deliveries of a removed endpoint are not sent.
UPDATE webhook_outbox SET gave_up_at = now()
WHERE endpoint_id = %(endpoint_id)s AND delivered_at IS NULL AND gave_up_at IS NULL;

-- name: queue_webhook_event
-- One outbox row per live endpoint of the merchant subscribed to the event; the same
-- event id again queues nothing.
INSERT INTO webhook_outbox (endpoint_id, event_id, event, body)
SELECT endpoint_id, %(event_id)s, %(event)s, %(body)s
FROM webhook_endpoints
WHERE merchant_id = %(merchant_id)s AND removed_at IS NULL AND %(event)s = ANY (events)
ON CONFLICT (endpoint_id, event_id) DO NOTHING
RETURNING delivery_id;

-- name: claim_due_deliveries
-- Deliveries due now, locked for this worker (others skip them), oldest first.
SELECT o.delivery_id, o.event_id, o.event, o.body, o.attempts, e.url, e.secret
FROM webhook_outbox o JOIN webhook_endpoints e USING (endpoint_id)
WHERE o.delivered_at IS NULL AND o.gave_up_at IS NULL AND o.next_attempt_at <= now()
ORDER BY o.next_attempt_at
LIMIT %(limit)s
FOR UPDATE OF o SKIP LOCKED;

-- name: log_webhook_attempt
-- One try of a delivery, in the delivery log.
INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
VALUES (%(delivery_id)s, %(attempt)s, %(status_code)s, %(error)s, %(duration_ms)s);

-- name: finish_webhook_attempt
-- After a try: delivered, given up, or due again after the backoff.
UPDATE webhook_outbox SET
    attempts = %(attempt)s,
    delivered_at = CASE WHEN %(delivered)s THEN now() END,
    gave_up_at = CASE WHEN NOT %(delivered)s AND %(give_up)s THEN now() END,
    next_attempt_at = now() + make_interval(secs => %(retry_in_s)s)
WHERE delivery_id = %(delivery_id)s;

-- name: list_webhook_deliveries
-- The delivery log of one endpoint of a merchant, newest first, with each try.
SELECT o.delivery_id, o.event_id, o.event, o.attempts, o.created_at, o.delivered_at,
       o.gave_up_at, o.next_attempt_at,
       coalesce(jsonb_agg(jsonb_build_object(
           'attempt', a.attempt, 'attempted_at', a.attempted_at,
           'status_code', a.status_code, 'error', a.error, 'duration_ms', a.duration_ms)
           ORDER BY a.attempt) FILTER (WHERE a.attempt IS NOT NULL), '[]') AS tries
FROM webhook_outbox o
JOIN webhook_endpoints e USING (endpoint_id)
LEFT JOIN webhook_attempts a USING (delivery_id)
WHERE o.endpoint_id = %(endpoint_id)s AND e.merchant_id = %(merchant_id)s
GROUP BY o.delivery_id
ORDER BY o.delivery_id DESC
LIMIT %(limit)s;

-- name: webhook_endpoint_exists
-- Whether the merchant has this endpoint (removed ones included: their log stays).
SELECT EXISTS (
    SELECT 1 FROM webhook_endpoints
    WHERE endpoint_id = %(endpoint_id)s AND merchant_id = %(merchant_id)s
) AS known;
