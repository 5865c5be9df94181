-- 0013: API keys and Idempotency-Key replays for the HTTP API (`adreel api`).
-- A key is shown once; only its SHA-256 hash and a short prefix (to recognise it in
-- `adreel keys list`) are stored. A merchant key belongs to one merchant; staff keys
-- (account_manager, finance, admin) to none.
CREATE TABLE api_keys (
    key_id       bigserial PRIMARY KEY,
    key_sha256   text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    prefix       text NOT NULL,
    role         text NOT NULL
                 CHECK (role IN ('merchant', 'account_manager', 'finance', 'admin')),
    merchant_id  text REFERENCES merchants,
    name         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);

-- The first response to a POST carrying an Idempotency-Key, per API key: a replay with
-- the same request gets it again; the same key with another request is refused.
CREATE TABLE api_idempotency (
    key_id          bigint NOT NULL REFERENCES api_keys,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_sha256  text NOT NULL,
    status_code     integer NOT NULL,
    response        jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idempotency_key)
);
