-- name: insert_asset
-- Record a stored object; the same render and variant recorded again returns the first row.
WITH inserted AS (
    INSERT INTO assets (merchant_id, product_id, request_hash, variant, kind, object_key,
                        sha256, size_bytes, content_type, width, height)
    VALUES (%(merchant_id)s, %(product_id)s, %(request_hash)s, %(variant)s, %(kind)s,
            %(object_key)s, %(sha256)s, %(size_bytes)s, %(content_type)s, %(width)s, %(height)s)
    ON CONFLICT (merchant_id, request_hash, variant, kind) DO NOTHING
    RETURNING asset_id
)
SELECT asset_id FROM inserted
UNION ALL
SELECT asset_id FROM assets
WHERE merchant_id = %(merchant_id)s AND request_hash = %(request_hash)s
  AND variant = %(variant)s AND kind = %(kind)s;

-- name: list_assets_for_renders
-- Assets produced by a set of render jobs, for the run summary.
SELECT * FROM assets
WHERE request_hash = ANY(%(request_hashes)s::text[])
ORDER BY product_id, variant, kind;

-- name: list_assets
-- A merchant's assets, newest first.
SELECT * FROM assets WHERE merchant_id = %(merchant_id)s ORDER BY asset_id DESC;
