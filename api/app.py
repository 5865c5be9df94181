"""The FastAPI app: ``create_app()`` is the factory ``adreel api`` serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import problems
from api.background import start_webhook_delivery
from api.console import pages as console
from api.limits import BodyLimit
from api.routes import billing, brand, campaigns, catalog, finance, keys, system, webhooks
from storage.services import services
from storage.settings import get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The webhook delivery thread, unless ADREEL_API_WEBHOOK_DELIVERY is off."""
    settings = get_settings()
    stop = None
    if settings.api_webhook_delivery:
        stop = start_webhook_delivery(services(), settings.webhook_poll_s)
    yield
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
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    problems.install(app)
    for module in (system, keys, catalog, campaigns, billing, brand, finance, webhooks):
        app.include_router(module.router)
    app.include_router(console.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(BodyLimit, max_upload_bytes=settings.api_max_upload_mb * 1024 * 1024)
    return app
