-- name: insert_asset
-- Record a stored object; the same render and variant recorded again returns the first row.
WITH inserted AS (
    INSERT INTO assets (merchant_id, product_id, request_hash, variant, kind, object_key,
                        sha256, size_bytes, content_type, width, height, campaign_id, template,
                        qa_status, qa_reasons)
    VALUES (%(merchant_id)s, %(product_id)s, %(request_hash)s, %(variant)s, %(kind)s,
            %(object_key)s, %(sha256)s, %(size_bytes)s, %(content_type)s, %(width)s, %(height)s,
            %(campaign_id)s, %(template)s, %(qa_status)s, %(qa_reasons)s)
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
-- A merchant's assets, newest first, optionally of one campaign or just one asset (another
-- merchant's asset is simply not found), each with the material it is of: template,
-- format, language, variant number (of the campaign's material; 0 outside a campaign)
-- and profile, which together tell two ads of one product apart.
SELECT a.*, coalesce(a.template, j.spec->>'template') AS material_template,
       j.spec->>'format' AS format, j.spec->>'locale' AS language, j.profile,
       coalesce(m.variant, 0) AS material_variant
FROM assets a
JOIN render_jobs j ON j.request_hash = a.request_hash
LEFT JOIN LATERAL (
    SELECT variant FROM campaign_materials cm
    WHERE cm.campaign_id = a.campaign_id
      AND (cm.preview_hash = a.request_hash OR cm.final_hash = a.request_hash)
    ORDER BY variant LIMIT 1
) m ON true
WHERE a.merchant_id = %(merchant_id)s
  AND (%(campaign_id)s::text IS NULL OR a.campaign_id = %(campaign_id)s)
  AND (%(asset_id)s::bigint IS NULL OR a.asset_id = %(asset_id)s)
ORDER BY a.asset_id DESC;

-- name: referenced_object_keys
-- Every object key a row points at (assets, product images, brand kits' logos and
-- fonts), under a prefix.
SELECT object_key AS key FROM assets WHERE object_key LIKE %(prefix)s || '%%'
UNION
SELECT image_key FROM products WHERE image_key LIKE %(prefix)s || '%%'
UNION
SELECT logo_key FROM brand_kits WHERE logo_key LIKE %(prefix)s || '%%'
UNION
SELECT font_key FROM brand_kits WHERE font_key LIKE %(prefix)s || '%%';

-- name: assets_under_prefix
-- Asset rows not yet marked missing that existed before the store was listed.
SELECT asset_id, merchant_id, object_key FROM assets
WHERE missing_at IS NULL AND object_key LIKE %(prefix)s || '%%'
  AND created_at < %(listed_at)s;

-- name: mark_assets_missing
-- Rows whose object is gone: marked, never deleted.
UPDATE assets SET missing_at = now()
WHERE asset_id = ANY(%(asset_ids)s::bigint[]) AND missing_at IS NULL;
