-- name: upsert_merchant
-- Create the merchant on first sight; a replay changes nothing.
INSERT INTO merchants (merchant_id, name, default_currency)
VALUES (%(merchant_id)s, %(name)s, %(default_currency)s)
ON CONFLICT (merchant_id) DO NOTHING;

-- name: upsert_product
-- Insert or update one product; a row whose content hash is unchanged is left alone.
-- Returns "inserted" (true for a new row) only when something was written.
INSERT INTO products AS p (
    merchant_id, product_id, title, description, link, image_link, image_key,
    price, currency, brand, product_category, attributes, content_hash)
VALUES (
    %(merchant_id)s, %(product_id)s, %(title)s, %(description)s, %(link)s, %(image_link)s,
    %(image_key)s, %(price)s, %(currency)s, %(brand)s, %(product_category)s, %(attributes)s,
    %(content_hash)s)
ON CONFLICT (merchant_id, product_id) DO UPDATE SET
    title = excluded.title, description = excluded.description, link = excluded.link,
    image_link = excluded.image_link, image_key = excluded.image_key, price = excluded.price,
    currency = excluded.currency, brand = excluded.brand,
    product_category = excluded.product_category, attributes = excluded.attributes,
    content_hash = excluded.content_hash, updated_at = now()
WHERE p.content_hash IS DISTINCT FROM excluded.content_hash
RETURNING (xmax = 0) AS inserted;

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
