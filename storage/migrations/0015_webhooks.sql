-- 0015: webhooks. A merchant or staff key registers endpoints of a merchant for events;
-- each event becomes one outbox row per subscribed endpoint (in the transaction that
-- emits it), which a delivery worker sends, signed, retrying with backoff; every try is
-- logged. The secret is kept as it is: adreel must sign with it.
CREATE TABLE webhook_endpoints (
    endpoint_id bigserial PRIMARY KEY,
    merchant_id text NOT NULL REFERENCES merchants,
    url         text NOT NULL CHECK (url ~ '^https?://' AND length(url) <= 2000),
    events      text[] NOT NULL CHECK (
                    cardinality(events) > 0
                    AND events <@ ARRAY['catalog.processed', 'previews.ready',
                                        'finals.delivered', 'period.closed']::text[]),
    secret      text NOT NULL,
    created_by  bigint REFERENCES api_keys,
    created_at  timestamptz NOT NULL DEFAULT now(),
    removed_at  timestamptz
);
CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id)
    WHERE removed_at IS NULL;

-- One event for one endpoint. The body is kept as the exact bytes sent (and signed), so
-- that every retry sends the same thing. An event id is derived from what caused it, so
-- emitting the same event twice queues it once.
CREATE TABLE webhook_outbox (
    delivery_id     bigserial PRIMARY KEY,
    endpoint_id     bigint NOT NULL REFERENCES webhook_endpoints,
    event_id        text NOT NULL,
    event           text NOT NULL,
    body            text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    gave_up_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- The delivery log: every try, its answer or error.
CREATE TABLE webhook_attempts (
    delivery_id  bigint NOT NULL REFERENCES webhook_outbox,
    attempt      integer NOT NULL CHECK (attempt >= 1),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    error        text,
    duration_ms  integer NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
