-- 0004: assets know their campaign and template, and rows whose object vanished are marked.

ALTER TABLE assets
    ADD COLUMN campaign_id text,
    ADD COLUMN template    text,
    -- set by `adreel assets sweep` when the object is gone; billing history is never deleted
    ADD COLUMN missing_at  timestamptz;
CREATE INDEX assets_campaign ON assets (merchant_id, campaign_id);
CREATE INDEX assets_object_key ON assets (object_key);
