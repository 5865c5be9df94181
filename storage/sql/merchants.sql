-- Merchants: the tenant every row and object key is scoped by.

-- name: upsert_merchant
-- Create the merchant on first sight; a replay changes nothing.
INSERT INTO merchants (merchant_id, name, default_currency)
VALUES (%(merchant_id)s, %(name)s, %(default_currency)s)
ON CONFLICT (merchant_id) DO NOTHING;

-- name: list_merchant_ids
-- Every merchant, for commands that act on all of them.
SELECT merchant_id FROM merchants ORDER BY merchant_id;

-- name: merchant_currency
-- A merchant's default currency (NULL: none set).
SELECT default_currency FROM merchants WHERE merchant_id = %(merchant_id)s;

-- name: set_merchant_currency
-- Store a merchant's default currency; returns the one it replaced.
UPDATE merchants m SET default_currency = %(currency)s
FROM (SELECT default_currency FROM merchants WHERE merchant_id = %(merchant_id)s FOR UPDATE) old
WHERE m.merchant_id = %(merchant_id)s
RETURNING old.default_currency AS previous;

-- name: merchant_exists
-- Whether a merchant is known (a kit for an unknown one is refused before any upload).
SELECT EXISTS (SELECT 1 FROM merchants WHERE merchant_id = %(merchant_id)s) AS known;

