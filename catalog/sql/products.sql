-- name: list_products
-- A merchant's products in id order, optionally only some ids.
SELECT * FROM products
WHERE merchant_id = %(merchant_id)s
  AND (%(product_ids)s::text[] IS NULL OR product_id = ANY(%(product_ids)s::text[]))
ORDER BY product_id;

-- name: products_pending_images
-- Products whose image was deferred at upload, oldest first.
SELECT product_id, image_link, additional_image_links FROM products
WHERE merchant_id = %(merchant_id)s AND image_status = 'pending' AND removed_at IS NULL
ORDER BY product_id
LIMIT %(limit)s;

-- name: set_product_image
-- Record the outcome of a deferred image fetch (the additional images' keys with it).
UPDATE products
SET image_key = %(image_key)s, image_status = %(image_status)s, image_error = %(image_error)s,
    additional_image_keys = %(additional_image_keys)s, updated_at = now()
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

-- name: stored_products_page_json
-- A page of stored products (as ``stored_products``) built as JSON text by PostgreSQL,
-- for the HTTP API's product list: whether the merchant is known, how many rows were
-- found (``limit`` + 1 says more follow), the first ``limit`` of them as a JSON array
-- and the last one's id (the next page's cursor).
WITH page AS (
    SELECT product_id AS id, title, price::text AS price, currency,
           CASE WHEN removed_at IS NULL THEN 'live' ELSE 'removed' END AS status,
           image_status, row_number() OVER (ORDER BY product_id) AS n
    FROM products
    WHERE merchant_id = %(merchant_id)s
      AND (%(status)s::text IS NULL OR (removed_at IS NULL) = (%(status)s::text = 'live'))
      AND (%(after_id)s::text IS NULL OR product_id > %(after_id)s)
    ORDER BY product_id
    LIMIT %(limit)s + 1
)
SELECT EXISTS (SELECT 1 FROM merchants WHERE merchant_id = %(merchant_id)s) AS known,
       (SELECT count(*) FROM page) AS found,
       (SELECT '[' || coalesce(string_agg(row_to_json(shown)::text, ',' ORDER BY shown.id), '')
               || ']'
        FROM (SELECT id, title, price, currency, status, image_status
              FROM page WHERE n <= %(limit)s) AS shown) AS products,
       (SELECT id FROM page WHERE n = %(limit)s) AS last_id;
