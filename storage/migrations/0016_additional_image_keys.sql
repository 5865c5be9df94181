-- 0016: the object-store keys of a product's additional images (the catalog's
-- additional_image_link, fetched like the main image, at most two): the motion tier
-- gives each a scene of its own. An image that could not be fetched is left out.
ALTER TABLE products ADD COLUMN additional_image_keys jsonb NOT NULL DEFAULT '[]';
