"""The end-to-end demo flow: the project's sample catalog to stored 9:16 ads.

For a person trying adreel: it ingests 20 sample products, renders one short clip per
product with the configured model (batched), composes each into an MP4 with the
product image, title and price, uploads it, records the assets, and summarises.
Run it again and everything is reused: nothing is rendered or recorded twice.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from campaigns.planning import plan_renders
from catalog.products import first_product_ids
from catalog.sample import write_sample_catalog
from catalog.upload import upload_catalog
from flows.progress import tracker
from generation.delivery import metered_tokens as metered
from generation.delivery import rendered_assets
from generation.dispatch import run_render_jobs
from storage.services import migrate_database, services


@task(retries=2, retry_delay_seconds=[2, 5])
def prepare_database() -> list[str]:
    return migrate_database(services().db)


@task
def write_sample(directory: str) -> str:
    return str(write_sample_catalog(Path(directory)))


@task
def ingest(merchant_id: str, catalog_path: str) -> dict:
    return upload_catalog(services(), merchant_id, Path(catalog_path)).as_dict()


@task
def choose_products(merchant_id: str, limit: int | None) -> list[str]:
    return first_product_ids(services().db, merchant_id, limit)


@task
def plan(merchant_id: str, product_ids: list[str], profile: str) -> list[str]:
    return plan_renders(services(), merchant_id, product_ids, profile)


@task
def render(request_hashes: list[str]) -> dict:
    svc = services()
    progress = tracker("rendering ads", total=len(request_hashes))
    run = run_render_jobs(request_hashes, svc.settings, svc.db, svc.store, on_progress=progress)
    return {"rendered": run.rendered, "reused": run.reused}


@task
def metered_tokens(request_hashes: list[str]) -> int:
    return metered(services(), request_hashes)


@task
def summarize(request_hashes: list[str]) -> list[dict]:
    return rendered_assets(services(), request_hashes)


@flow(name="adreel-demo")
def demo_flow(merchant_id: str = "demo", limit: int | None = None) -> dict:
    # 1. Bring the schema up to date (a no-op when it is).
    migrations = prepare_database()
    # 2. Write the sample catalog and its Pillow-drawn images.
    catalog_path = write_sample(str(services().settings.home / "sample-catalog"))
    # 3. Upload it: validated, images to the object store, products upserted by id.
    catalog = ingest(merchant_id, catalog_path)
    # 4. Plan one preview render per product (the first `limit`), named by content hash.
    request_hashes = plan(merchant_id, choose_products(merchant_id, limit), "preview")
    # 5. Render, compose and store (Celery workers when a broker is configured).
    renders = render(request_hashes)
    # 6. Summarise what is stored where.
    assets = summarize(request_hashes)
    return {
        "merchant_id": merchant_id,
        "migrations_applied": migrations,
        "catalog_file": catalog_path,
        "catalog": catalog,
        "renders": renders,
        "usage_tokens": metered_tokens(request_hashes),
        "assets": assets,
    }
