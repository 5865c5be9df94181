"""The FastAPI app: ``create_app()`` is the factory ``adreel api`` serves."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import db as api_db
from api import problems
from api.background import start_catalog_jobs, start_key_cache, start_webhook_delivery
from api.console import finance as console_finance
from api.console import merchant as console_merchant
from api.console import pages as console
from api.console import staff as console_staff
from api.limits import BodyLimit
from api.routes import billing, brand, campaigns, catalog, finance, keys, system, webhooks
from storage.services import services
from storage.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The API key cache's thread, the async pool for hot reads, the catalog upload
    worker, and the webhook delivery thread unless ADREEL_API_WEBHOOK_DELIVERY is off."""
    settings = get_settings()
    stop = None
    keys_stop = start_key_cache(services())
    pool = await api_db.open_pool(services().db.url, settings.db_pool_size)
    uploads_stop = start_catalog_jobs(services())
    if settings.api_webhook_delivery:
        stop = start_webhook_delivery(services(), settings.webhook_poll_s)
    gc.freeze()  # what start-up loaded lives as long as the process: no full GC walks it
    yield
    keys_stop.set()
    uploads_stop.set()
    await pool.close()
    if stop is not None:
        stop.set()


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="adreel",
        version="1",
        description="Merchants upload catalogs and fetch their ads; account managers set "
        "up campaigns and contracts; finance imports, closes and pays out. "
        "Authenticate with `Authorization: Bearer <key>` (`adreel keys create`).",
        openapi_url="/openapi.json",
        docs_url=None,  # api/routes/system.py serves /docs from local files
        redoc_url=None,
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (system, keys, catalog, campaigns, billing, brand, finance, webhooks):
        app.include_router(module.router)
    app.include_router(console.router)
    app.include_router(console_merchant.router)  # catalog, brand kit, wallet pages
    app.include_router(console_staff.router)  # account manager pages
    app.include_router(console_finance.router)  # finance pages
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(BodyLimit, max_upload_bytes=settings.api_max_upload_mb * 1024 * 1024)
    return app
