"""The canonical product schema and how each feed format's columns map onto it.

Canonical fields follow the Google Merchant Center specification. Every reader turns
its format into chunks of this schema (strings, missing values as None); normalising
and validating happen once, on the canonical chunks, whatever the source.
"""

from __future__ import annotations

CANONICAL = [
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "additional_image_link",
    "price",
    "sale_price",
    "availability",
    "condition",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "color",
    "size",
    "material",
    "pattern",
    "gender",
    "age_group",
    "google_product_category",
    "product_type",
    "custom_label_0",
    "custom_label_1",
    "custom_label_2",
    "custom_label_3",
    "custom_label_4",
    "shipping",
]
VARIANT_ATTRIBUTES = ["color", "size", "material", "pattern", "gender", "age_group"]
CUSTOM_LABELS = [f"custom_label_{i}" for i in range(5)]
REQUIRED = ["id", "title", "price"]

# Google Merchant Center text feeds and Meta catalogs name columns alike; these are the
# spellings seen in real exports, after lower-casing and turning spaces into "_".
GOOGLE_ALIASES = {
    "identifier": "id",
    "item_id": "id",
    "product_id": "id",
    "image_url": "image_link",
    "additional_image_links": "additional_image_link",
    "gtin_/_ean": "gtin",
    "ean": "gtin",
    "upc": "gtin",
    "category": "google_product_category",
    "fb_product_category": "product_type",
}
# Columns only Meta's catalog template has; their presence means a Meta feed.
META_MARKERS = {
    "fb_product_category",
    "quantity_to_sell_on_facebook",
    "rich_text_description",
    "video[0].url",
    "inventory",
}

SHOPIFY_CLASSIC = {
    "handle": "Handle",
    "title": "Title",
    "body": "Body (HTML)",
    "vendor": "Vendor",
    "category": "Product Category",
    "type": "Type",
    "tags": "Tags",
    "sku": "Variant SKU",
    "price": "Variant Price",
    "compare_at": "Variant Compare At Price",
    "barcode": "Variant Barcode",
    "image": "Image Src",
    "variant_image": "Variant Image",
    "inventory_tracker": "Variant Inventory Tracker",
    "inventory": "Variant Inventory Qty",
    "inventory_policy": "Variant Inventory Policy",
    "status": "Status",
}
SHOPIFY_REQUIRED = ["handle", "title", "price"]
SHOPIFY_NEW = {
    "handle": "URL handle",
    "title": "Title",
    "body": "Description",
    "vendor": "Vendor",
    "category": "Product category",
    "type": "Type",
    "tags": "Tags",
    "sku": "SKU",
    "price": "Price",
    "compare_at": "Compare-at price",
    "barcode": "Barcode",
    "image": "Product image URL",
    "variant_image": "Variant image URL",
    "inventory_tracker": "Inventory tracker",
    "inventory": "Inventory quantity",
    "inventory_policy": "Continue selling when out of stock",
    "status": "Status",
}


def canonical_header(name: str) -> str:
    """``"Image Link"`` and ``"g:image_link"`` both become ``image_link``."""
    key = name.strip().lstrip("\ufeff").lower().replace(" ", "_")
    key = key.removeprefix("g:")
    return GOOGLE_ALIASES.get(key, key)


# What an upload can be told: the feed's format (default: detected), when images are
# fetched, and whether the file is the whole catalog or an update of some products.
FORMATS = ("google", "meta", "shopify", "google_xml", "jsonl", "parquet")
IMAGE_MODES = ("upload", "defer")
UPLOAD_MODES = ("full", "update")
