-- 0006: campaigns, the materials they plan (one per product x template x format x variant
-- x language), the merchant's decision on each preview, and one row per run.

CREATE TABLE campaigns (
    campaign_id  text PRIMARY KEY CHECK (campaign_id ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    merchant_id  text NOT NULL REFERENCES merchants,
    -- the validated campaign file, as JSON
    spec         jsonb NOT NULL,
    cron         text,
    timezone     text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_merchant ON campaigns (merchant_id);

CREATE TABLE campaign_materials (
    campaign_id   text NOT NULL REFERENCES campaigns,
    product_id    text NOT NULL,
    template      text NOT NULL,
    format        text NOT NULL,
    variant       integer NOT NULL CHECK (variant >= 0),
    locale        text NOT NULL,
    priority      integer NOT NULL,
    preview_hash  text NOT NULL REFERENCES render_jobs,
    -- pending until the merchant decides; a decision can change until the final exists
    decision      text NOT NULL DEFAULT 'pending'
                  CHECK (decision IN ('pending', 'approved', 'rejected')),
    reason        text,
    decided_at    timestamptz,
    final_hash    text REFERENCES render_jobs,
    delivered_at  timestamptz,
    PRIMARY KEY (campaign_id, product_id, template, format, variant, locale)
);

CREATE TABLE campaign_runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id  text NOT NULL REFERENCES campaigns,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- running, awaiting_approval, delivered, failed, interrupted (died mid-run)
    status       text NOT NULL DEFAULT 'running',
    summary      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX campaign_runs_campaign ON campaign_runs (campaign_id, run_id);
