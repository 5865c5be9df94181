-- 0022: a product's merchant checked once per merchant and statement instead of per row.
-- The foreign key products.merchant_id -> merchants looked its merchant up (and locked
-- it) for every inserted product: half of PostgreSQL's time in a catalog upload's insert
-- (issue 21: 1.9 s against 0.9 s per 300,000 new products). The same rule, kept by
-- PostgreSQL for every path that writes products or merchants:
--   * inserting products: each distinct merchant of the statement must exist, and is
--     locked FOR KEY SHARE as the foreign key did, so a concurrent delete of that
--     merchant waits for the insert's transaction and then sees its products;
--   * a product's merchant never changes;
--   * deleting a merchant (or changing its id) with products is refused, as before.
-- adreel itself never deletes merchants; these keep any other path from orphaning rows.

ALTER TABLE products DROP CONSTRAINT products_merchant_id_fkey;

CREATE FUNCTION products_merchants_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing text;
BEGIN
    PERFORM 1 FROM merchants m
    WHERE m.merchant_id IN (SELECT DISTINCT merchant_id FROM new_products)
    FOR KEY SHARE;
    SELECT d.merchant_id INTO missing
    FROM (SELECT DISTINCT merchant_id FROM new_products) d
    WHERE NOT EXISTS (SELECT 1 FROM merchants m WHERE m.merchant_id = d.merchant_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'product of merchant % names a merchant that does not exist', missing
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'products_merchant_id_fkey';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER products_merchants_exist
    AFTER INSERT ON products REFERENCING NEW TABLE AS new_products
    FOR EACH STATEMENT EXECUTE FUNCTION products_merchants_exist();

CREATE FUNCTION products_merchant_unchanged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'product % cannot move from merchant % to %',
        OLD.product_id, OLD.merchant_id, NEW.merchant_id
        USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'products_merchant_id_fkey';
END $$;

CREATE TRIGGER products_merchant_unchanged
    BEFORE UPDATE OF merchant_id ON products
    FOR EACH ROW WHEN (OLD.merchant_id IS DISTINCT FROM NEW.merchant_id)
    EXECUTE FUNCTION products_merchant_unchanged();

CREATE FUNCTION merchants_keep_products() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphaned text;
BEGIN
    SELECT o.merchant_id INTO orphaned
    FROM old_merchants o
    WHERE NOT EXISTS (SELECT 1 FROM merchants m WHERE m.merchant_id = o.merchant_id)
      AND EXISTS (SELECT 1 FROM products p WHERE p.merchant_id = o.merchant_id)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'merchant % still has products', orphaned
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'products_merchant_id_fkey';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER merchants_keep_products_on_delete
    AFTER DELETE ON merchants REFERENCING OLD TABLE AS old_merchants
    FOR EACH STATEMENT EXECUTE FUNCTION merchants_keep_products();

CREATE TRIGGER merchants_keep_products_on_update
    AFTER UPDATE ON merchants REFERENCING OLD TABLE AS old_merchants
    FOR EACH STATEMENT EXECUTE FUNCTION merchants_keep_products();
