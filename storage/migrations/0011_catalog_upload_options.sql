-- 0011: catalog uploads that do what a merchant means.
-- A merchant's default currency is optional: "none set" is NULL, and a file without
-- currencies for such a merchant is refused instead of being read as USD. Existing
-- merchants keep the currency they have.
ALTER TABLE merchants
    ALTER COLUMN default_currency DROP DEFAULT,
    ALTER COLUMN default_currency DROP NOT NULL;

-- Everything that decides an upload's outcome is recorded with its version, so that a
-- replay is recognised only when the same bytes are uploaded the same way.
ALTER TABLE catalog_uploads
    -- the currency for prices given without one (--currency, else the merchant's default)
    ADD COLUMN currency             char(3) CHECK (currency ~ '^[A-Z]{3}$'),
    ADD COLUMN images               text NOT NULL DEFAULT 'upload'
                                    CHECK (images IN ('upload', 'defer')),
    -- full: the file is the whole catalog (unlisted products are removed);
    -- update: only the file's rows are upserted
    ADD COLUMN mode                 text NOT NULL DEFAULT 'full'
                                    CHECK (mode IN ('full', 'update')),
    -- rows identical in every field to an earlier row with the same id, counted once
    ADD COLUMN duplicates_collapsed integer NOT NULL DEFAULT 0;
