-- 0007: a brand kit per merchant, thumbnails among a render's assets, and a note on a
-- render that succeeded without something it should have had (its product image).

-- The kit in force when a material is composed is the one used: materials composed
-- before a change keep the kit they were made with (they are not re-rendered).
CREATE TABLE brand_kits (
    merchant_id      text PRIMARY KEY REFERENCES merchants,
    -- '' : the end card shows the product's brand
    name             text NOT NULL DEFAULT '',
    primary_colour   text NOT NULL CHECK (primary_colour ~ '^#[0-9a-f]{6}$'),
    secondary_colour text NOT NULL CHECK (secondary_colour ~ '^#[0-9a-f]{6}$'),
    -- a string for every language, an object by language or locale, or NULL: "Shop now"
    -- in the ad's language
    call_to_action   jsonb CHECK (call_to_action IS NULL
                                  OR jsonb_typeof(call_to_action) IN ('string', 'object')),
    -- the logo and font files live in the object store under content-addressed keys, so
    -- any worker can draw the kit
    logo_key         text,
    logo_sha256      text CHECK (logo_sha256 ~ '^[0-9a-f]{64}$'),
    font_name        text,
    font_key         text,
    font_sha256      text CHECK (font_sha256 ~ '^[0-9a-f]{64}$'),
    -- hash of every field and file digest: setting the same kit again changes nothing
    content_digest   text NOT NULL CHECK (content_digest ~ '^[0-9a-f]{64}$'),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((logo_key IS NULL) = (logo_sha256 IS NULL)),
    CHECK ((font_key IS NULL) = (font_sha256 IS NULL) AND (font_key IS NULL) = (font_name IS NULL))
);

ALTER TABLE assets DROP CONSTRAINT assets_kind_check;
ALTER TABLE assets ADD CONSTRAINT assets_kind_check
    CHECK (kind IN ('video', 'poster', 'thumbnail'));

-- e.g. "rendered without product image: its image ... is missing from the store"
ALTER TABLE render_jobs ADD COLUMN warning text;
