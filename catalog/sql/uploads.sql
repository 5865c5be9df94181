-- name: lock_merchant_catalog
-- Serialise uploads for one merchant: the second waits for the first to commit.
SELECT pg_advisory_xact_lock(hashtext('catalog:' || %(merchant_id)s));

-- name: latest_upload
-- The merchant's latest catalog version.
SELECT * FROM catalog_uploads WHERE merchant_id = %(merchant_id)s
ORDER BY version DESC LIMIT 1;

-- name: get_upload
-- One catalog version.
SELECT * FROM catalog_uploads WHERE merchant_id = %(merchant_id)s AND version = %(version)s;

-- name: create_catalog_staging
-- Per-session scratch table: every row of the file, accepted or not.
CREATE TEMP TABLE IF NOT EXISTS catalog_staging (
    row_number integer, product_id text, title text, description text,
    description_html text, link text, image_link text, image_key text,
    additional_image_links jsonb, price numeric, currency text, sale_price numeric,
    availability text, condition text, brand text, gtin text, mpn text, item_group_id text,
    product_category text, product_type text, custom_labels jsonb, attributes jsonb,
    content_hash text, image_status text, accepted boolean,
    -- values as the merchant wrote them, where normalising changes them (for the CSV)
    given_description text, given_price text, given_sale_price text,
    given_availability text, given_condition text, given_gtin text,
    -- the additional images fetched into the object store (``products``)
    additional_image_keys jsonb,
    -- a later copy of an identical row: counted once, neither upserted nor rejected
    collapsed boolean NOT NULL DEFAULT false
) ON COMMIT DROP;

-- name: copy_catalog_staging
-- Bulk load of one chunk (CSV, empty = NULL), columns as uploads.STAGING_COLUMNS.
COPY catalog_staging (row_number, product_id, title, description, description_html, link,
    image_link, additional_image_links, price, currency, sale_price, availability, condition,
    brand, gtin, mpn, item_group_id, product_category, product_type, custom_labels,
    attributes, content_hash, image_key, image_status, accepted, given_description,
    given_price, given_sale_price, given_availability, given_condition, given_gtin,
    additional_image_keys)
FROM STDIN (FORMAT csv);

-- name: index_catalog_staging
-- After the load: the duplicate and removal checks look rows up by product id.
CREATE INDEX catalog_staging_product_id ON catalog_staging (product_id);

-- name: analyze_catalog_staging
-- Temp tables are not analysed automatically; the set-based statements need estimates,
-- of the product ids they group and join by (all columns took a third of a second).
ANALYZE catalog_staging (product_id);

-- name: collapse_identical_duplicates
-- Rows identical in every field (same id, same content hash) are one product listed
-- more than once: the first is kept, later accepted copies are set aside.
WITH identical AS (
    SELECT product_id, min(row_number) AS first_row FROM catalog_staging
    WHERE product_id IS NOT NULL
    GROUP BY product_id HAVING count(*) > 1 AND count(DISTINCT content_hash) = 1
), later AS (
    UPDATE catalog_staging s SET accepted = false, collapsed = true
    FROM identical i
    WHERE s.product_id = i.product_id AND s.row_number > i.first_row AND s.accepted
    RETURNING 1
)
SELECT count(*) AS collapsed FROM later;

-- name: quarantine_duplicate_ids
-- An id listed more than once with different content: every row with it is
-- quarantined, none wins (identical copies were collapsed, or share their own reasons).
WITH duplicated AS (
    SELECT product_id FROM catalog_staging WHERE product_id IS NOT NULL AND NOT collapsed
    GROUP BY product_id HAVING count(*) > 1 AND count(DISTINCT content_hash) > 1
), flagged AS (
    UPDATE catalog_staging s SET accepted = false
    FROM duplicated d WHERE s.product_id = d.product_id
    RETURNING s.row_number, s.product_id
)
INSERT INTO catalog_quarantine (merchant_id, version, row_number, product_id, rule, field, value)
SELECT %(merchant_id)s, %(version)s, row_number, product_id, 'duplicate_id', 'id', product_id
FROM flagged
ON CONFLICT DO NOTHING
RETURNING row_number;

-- name: keep_duplicate_rows
-- Duplicate rows that passed every other check, kept as records for the rejected-rows CSV,
-- with the values the merchant wrote (trimmed) in Google's column names.
INSERT INTO catalog_rejected_rows (merchant_id, version, row_number, record)
SELECT %(merchant_id)s, %(version)s, s.row_number, jsonb_strip_nulls(jsonb_build_object(
    'id', s.product_id, 'title', s.title, 'description', s.given_description,
    'link', s.link, 'image_link', s.image_link,
    'additional_image_link', nullif(s.additional_image_links, '[]'::jsonb),
    'price', s.given_price, 'sale_price', s.given_sale_price,
    'availability', s.given_availability, 'condition', s.given_condition, 'brand', s.brand,
    'gtin', s.given_gtin, 'mpn', s.mpn, 'item_group_id', s.item_group_id,
    'google_product_category', s.product_category, 'product_type', s.product_type,
    'custom_label_0', s.custom_labels->>0, 'custom_label_1', s.custom_labels->>1,
    'custom_label_2', s.custom_labels->>2, 'custom_label_3', s.custom_labels->>3,
    'custom_label_4', s.custom_labels->>4) || coalesce(s.attributes, '{}'::jsonb))
FROM catalog_staging s
JOIN catalog_quarantine q
  ON q.merchant_id = %(merchant_id)s AND q.version = %(version)s
 AND q.row_number = s.row_number AND q.rule = 'duplicate_id'
ON CONFLICT DO NOTHING;

-- name: update_staged_products
-- Accepted rows of products the merchant has, in one statement; rows whose content hash
-- is unchanged (and products not removed) are left alone. Run before
-- ``insert_staged_products``. An update and an insert where ``INSERT ... ON CONFLICT DO
-- UPDATE`` did both: its speculative insertion cost a quarter more PostgreSQL time, for a
-- new catalog and for a replayed one alike. Uploads, which hold the merchant's lock, are
-- the only writers of new products, so none appears between the two statements.
WITH written AS (
    UPDATE products p SET
        title = s.title, description = coalesce(s.description, ''),
        description_html = s.description_html, link = s.link, image_link = s.image_link,
        image_key = coalesce(s.image_key, p.image_key),
        -- fetched with the main image; an upload that defers images keeps the last ones
        additional_image_keys = CASE WHEN s.image_key IS NULL
            THEN p.additional_image_keys ELSE coalesce(s.additional_image_keys, '[]') END,
        additional_image_links = s.additional_image_links, price = s.price,
        currency = s.currency, sale_price = s.sale_price, availability = s.availability,
        condition = s.condition, brand = s.brand, gtin = s.gtin, mpn = s.mpn,
        item_group_id = s.item_group_id, product_category = s.product_category,
        product_type = s.product_type, custom_labels = s.custom_labels,
        attributes = s.attributes, content_hash = s.content_hash,
        image_status = s.image_status, catalog_version = %(version)s,
        removed_at = NULL, updated_at = now()
    FROM catalog_staging s
    WHERE s.accepted AND p.merchant_id = %(merchant_id)s AND p.product_id = s.product_id
      AND (p.content_hash IS DISTINCT FROM s.content_hash OR p.removed_at IS NOT NULL)
    RETURNING 1
)
SELECT count(*) AS updated FROM written;

-- name: insert_staged_products
-- Accepted rows of products the merchant does not have yet, in one statement.
WITH written AS (
    INSERT INTO products (
        merchant_id, product_id, title, description, description_html, link, image_link,
        image_key, additional_image_links, price, currency, sale_price, availability,
        condition, brand, gtin, mpn, item_group_id, product_category, product_type,
        custom_labels, attributes, content_hash, image_status, catalog_version,
        additional_image_keys)
    SELECT %(merchant_id)s, product_id, title, coalesce(description, ''), description_html,
        link, image_link, image_key, additional_image_links, price, currency, sale_price,
        availability, condition, brand, gtin, mpn, item_group_id, product_category,
        product_type, custom_labels, attributes, content_hash, image_status, %(version)s,
        coalesce(additional_image_keys, '[]')
    FROM catalog_staging s
    WHERE s.accepted AND NOT EXISTS (
        SELECT 1 FROM products p
        WHERE p.merchant_id = %(merchant_id)s AND p.product_id = s.product_id)
    RETURNING 1
)
SELECT count(*) AS created FROM written;

-- name: mark_removed_products
-- Products the file no longer lists (in any row, good or bad) are marked removed. Run
-- before the upsert, which only writes listed products, so as to read only the products
-- there were before this upload.
WITH removed AS (
    UPDATE products p SET removed_at = now(), updated_at = now()
    WHERE p.merchant_id = %(merchant_id)s AND p.removed_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM catalog_staging s WHERE s.product_id = p.product_id)
    RETURNING 1
)
SELECT count(*) AS removed FROM removed;

-- name: insert_catalog_upload
-- The version's record: what decided its outcome (bytes, format, currency, images, mode)
-- and its counts.
INSERT INTO catalog_uploads (merchant_id, version, file_name, file_sha256, format, currency,
    images, mode, rows_read, accepted, rejected, created, updated, unchanged, removed,
    duplicates_collapsed, rule_counts)
VALUES (%(merchant_id)s, %(version)s, %(file_name)s, %(file_sha256)s, %(format)s,
    %(currency)s, %(images)s, %(mode)s, %(rows_read)s, %(accepted)s, %(rejected)s,
    %(created)s, %(updated)s, %(unchanged)s, %(removed)s, %(duplicates_collapsed)s,
    %(rule_counts)s);

-- name: copy_quarantine
-- Rejected rows of one chunk.
COPY catalog_quarantine (merchant_id, version, row_number, product_id, rule, field, value)
FROM STDIN;

-- name: quarantined_rows
-- A version's rejected rows, in file order.
SELECT row_number, product_id, rule, field, value FROM catalog_quarantine
WHERE merchant_id = %(merchant_id)s AND version = %(version)s
ORDER BY row_number, rule;

-- name: count_accepted_staging
-- Rows still accepted after every check, duplicates included.
SELECT count(*) AS accepted FROM catalog_staging WHERE accepted;

-- name: copy_rejected_rows
-- Rejected rows of one chunk, as the merchant wrote them.
COPY catalog_rejected_rows (merchant_id, version, row_number, record) FROM STDIN;

-- name: rejected_rows
-- A version's rejected rows with every reason, in file order, for the CSV to fix.
SELECT r.row_number, r.record,
       string_agg(q.rule || ' (' || q.field || ')', '; ' ORDER BY q.rule) AS errors
FROM catalog_rejected_rows r
JOIN catalog_quarantine q USING (merchant_id, version, row_number)
WHERE r.merchant_id = %(merchant_id)s AND r.version = %(version)s
GROUP BY r.row_number, r.record
ORDER BY r.row_number;

-- name: rule_examples
-- Per rule: how many rows failed it, and the first few.
SELECT rule, field, count(*) AS rows,
       (array_agg(jsonb_build_object('row', row_number, 'id', product_id, 'value', value)
                  ORDER BY row_number))[1:%(examples)s] AS examples
FROM catalog_quarantine
WHERE merchant_id = %(merchant_id)s AND version = %(version)s
GROUP BY rule, field ORDER BY count(*) DESC, rule;
