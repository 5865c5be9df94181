-- name: list_products
-- A merchant's products in id order, optionally only some ids.
SELECT * FROM products
WHERE merchant_id = %(merchant_id)s
  AND (%(product_ids)s::text[] IS NULL OR product_id = ANY(%(product_ids)s::text[]))
ORDER BY product_id;

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

-- name: stored_products
-- A merchant's products as stored, live and removed (optionally only one of them), in
-- id order, optionally only those after an id and only so many (a page); prices as
-- decimal text.
SELECT product_id AS id, title, price::text AS price, currency,
       CASE WHEN removed_at IS NULL THEN 'live' ELSE 'removed' END AS status, image_status
FROM products
WHERE merchant_id = %(merchant_id)s
  AND (%(status)s::text IS NULL OR (removed_at IS NULL) = (%(status)s::text = 'live'))
  AND (%(after_id)s::text IS NULL OR product_id > %(after_id)s)
ORDER BY product_id
LIMIT %(limit)s;
