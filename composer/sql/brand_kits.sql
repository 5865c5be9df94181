-- name: get_brand_kit
-- A merchant's brand kit, or no row when it has none (renders use the defaults).
SELECT * FROM brand_kits WHERE merchant_id = %(merchant_id)s;

-- name: upsert_brand_kit
-- Create or replace the merchant's kit; the same content again changes nothing and
-- returns no row.
INSERT INTO brand_kits (merchant_id, name, primary_colour, secondary_colour, call_to_action,
                        logo_key, logo_sha256, font_name, font_key, font_sha256,
                        content_digest)
VALUES (%(merchant_id)s, %(name)s, %(primary_colour)s, %(secondary_colour)s,
        %(call_to_action)s, %(logo_key)s, %(logo_sha256)s, %(font_name)s, %(font_key)s,
        %(font_sha256)s, %(content_digest)s)
ON CONFLICT (merchant_id) DO UPDATE
SET name = EXCLUDED.name,
    primary_colour = EXCLUDED.primary_colour,
    secondary_colour = EXCLUDED.secondary_colour,
    call_to_action = EXCLUDED.call_to_action,
    logo_key = EXCLUDED.logo_key,
    logo_sha256 = EXCLUDED.logo_sha256,
    font_name = EXCLUDED.font_name,
    font_key = EXCLUDED.font_key,
    font_sha256 = EXCLUDED.font_sha256,
    content_digest = EXCLUDED.content_digest,
    updated_at = now()
WHERE brand_kits.content_digest <> EXCLUDED.content_digest
RETURNING *;
