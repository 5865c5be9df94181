"""Catalog ingestion as the flows see it: parse, keep product images, upsert products.

The whole file is parsed before anything is written, so bad input writes nothing.
Images go to the object store before the rows that point at them.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from catalog.errors import CatalogError
from catalog.jsonl import read_jsonl
from catalog.model import Product
from flows.services import Services
from storage.objects import ObjectStore, product_image_key, sha256_file
from storage.products import ensure_merchant, upsert_products


@dataclass(frozen=True)
class IngestResult:
    product_ids: list[str]
    inserted: int
    updated: int
    unchanged: int


def ingest_catalog(
    services: Services, merchant_id: str, catalog_path: Path, limit: int | None = None
) -> IngestResult:
    products = list(read_jsonl(catalog_path))[:limit]
    rows = [
        _product_row(
            product, row, catalog_path, services.store, services.settings.s3_prefix, merchant_id
        )
        for row, product in enumerate(products, start=1)
    ]
    with services.db.connection() as conn:
        ensure_merchant(conn, merchant_id, name=merchant_id)
        counts = upsert_products(conn, merchant_id, rows)
    return IngestResult([p.id for p in products], counts.inserted, counts.updated, counts.unchanged)


def _product_row(
    product: Product,
    row: int,
    catalog_path: Path,
    store: ObjectStore,
    prefix: str,
    merchant_id: str,
) -> dict:
    return {
        "product_id": product.id,
        "title": product.title,
        "description": product.description,
        "link": product.link,
        "image_link": product.image_link,
        "image_key": _store_image(product, row, catalog_path, store, prefix, merchant_id),
        "price": product.price,
        "currency": product.currency,
        "brand": product.brand,
        "product_category": product.product_category,
        "attributes": product.attributes,
        "content_hash": product.content_hash(),
    }


def _store_image(
    product: Product,
    row: int,
    catalog_path: Path,
    store: ObjectStore,
    prefix: str,
    merchant_id: str,
) -> str | None:
    """Keep a local product image in the store under its content hash; return its key."""
    if not product.image_link or "://" in product.image_link:
        return None  # remote images are fetched by the catalog importer (later)
    path = (catalog_path.parent / product.image_link).resolve()
    if not path.is_file():
        raise CatalogError(catalog_path, row, "image_link", f"file {path} does not exist")
    ext = path.suffix.lstrip(".").lower() or "bin"
    key = product_image_key(prefix, merchant_id, sha256_file(path), ext)
    if not store.exists(key):
        store.put_file(key, path, mimetypes.guess_type(path.name)[0] or "application/octet-stream")
    return key
