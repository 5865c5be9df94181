-- 0005: metered usage, one row per successful render (the request hash makes it once).

CREATE TABLE render_usage (
    request_hash text PRIMARY KEY REFERENCES render_jobs,
    merchant_id  text NOT NULL REFERENCES merchants,
    campaign_id  text,
    model        text NOT NULL,
    profile      text NOT NULL,
    width        integer NOT NULL CHECK (width > 0),
    height       integer NOT NULL CHECK (height > 0),
    frames       integer NOT NULL CHECK (frames > 0),
    tokens       bigint NOT NULL CHECK (tokens > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX render_usage_merchant ON render_usage (merchant_id, created_at);
