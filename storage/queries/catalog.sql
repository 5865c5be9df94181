-- name: upsert_merchant
-- Create the merchant on first sight; a replay changes nothing.
INSERT INTO merchants (merchant_id, name, default_currency)
VALUES (%(merchant_id)s, %(name)s, %(default_currency)s)
ON CONFLICT (merchant_id) DO NOTHING;

-- name: list_products
-- A merchant's products in id order, optionally only some ids.
SELECT * FROM products
WHERE merchant_id = %(merchant_id)s
  AND (%(product_ids)s::text[] IS NULL OR product_id = ANY(%(product_ids)s::text[]))
ORDER BY product_id;

-- name: list_merchant_ids
-- Every merchant, for commands that act on all of them.
SELECT merchant_id FROM merchants ORDER BY merchant_id;

-- name: merchant_currency
-- A merchant's default currency.
SELECT default_currency FROM merchants WHERE merchant_id = %(merchant_id)s;

-- name: products_pending_images
-- Products whose image was deferred at upload, oldest first.
SELECT product_id, image_link FROM products
WHERE merchant_id = %(merchant_id)s AND image_status = 'pending' AND removed_at IS NULL
ORDER BY product_id
LIMIT %(limit)s;

-- name: set_product_image
-- Record the outcome of a deferred image fetch.
UPDATE products
SET image_key = %(image_key)s, image_status = %(image_status)s, image_error = %(image_error)s,
    updated_at = now()
WHERE merchant_id = %(merchant_id)s AND product_id = %(product_id)s;
