-- 0003: the full canonical product, catalog versions, and the quarantine of bad rows.

ALTER TABLE products
    ADD COLUMN description_html       text,
    ADD COLUMN additional_image_links jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN sale_price             numeric CHECK (sale_price > 0),
    ADD COLUMN availability           text,
    ADD COLUMN condition              text,
    ADD COLUMN gtin                   text,
    ADD COLUMN mpn                    text,
    ADD COLUMN item_group_id          text,
    ADD COLUMN product_type           text,
    ADD COLUMN custom_labels          jsonb NOT NULL DEFAULT '[]',
    -- ready: image_key is set; pending: to fetch (--images defer); failed: a deferred
    -- fetch failed (image_error says why); none: no image link
    ADD COLUMN image_status           text NOT NULL DEFAULT 'ready'
                                      CHECK (image_status IN ('ready', 'pending', 'failed', 'none')),
    ADD COLUMN image_error            text,
    ADD COLUMN catalog_version        integer,
    -- set when an upload no longer lists the product; cleared when it comes back
    ADD COLUMN removed_at             timestamptz;

-- One row per upload that changed something (a replayed file adds none).
CREATE TABLE catalog_uploads (
    merchant_id  text NOT NULL REFERENCES merchants,
    version      integer NOT NULL CHECK (version > 0),
    file_name    text NOT NULL,
    file_sha256  text NOT NULL,
    format       text NOT NULL,
    rows_read    integer NOT NULL,
    accepted     integer NOT NULL,
    rejected     integer NOT NULL,
    created      integer NOT NULL,
    updated      integer NOT NULL,
    unchanged    integer NOT NULL,
    removed      integer NOT NULL,
    rule_counts  jsonb NOT NULL DEFAULT '{}',
    uploaded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, version)
);

-- Every rejected row of an upload: which rule failed, on which field, with what value.
CREATE TABLE catalog_quarantine (
    merchant_id text NOT NULL,
    version     integer NOT NULL,
    row_number  integer NOT NULL,
    product_id  text,
    rule        text NOT NULL,
    field       text NOT NULL,
    value       text,
    PRIMARY KEY (merchant_id, version, row_number, rule),
    FOREIGN KEY (merchant_id, version) REFERENCES catalog_uploads DEFERRABLE INITIALLY DEFERRED
);

-- The rejected rows themselves, as canonical records, for the merchant to fix and re-upload.
CREATE TABLE catalog_rejected_rows (
    merchant_id text NOT NULL,
    version     integer NOT NULL,
    row_number  integer NOT NULL,
    record      jsonb NOT NULL,
    PRIMARY KEY (merchant_id, version, row_number),
    FOREIGN KEY (merchant_id, version) REFERENCES catalog_uploads DEFERRABLE INITIALLY DEFERRED
);
