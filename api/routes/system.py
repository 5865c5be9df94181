"""``GET /healthz``: whether the database, object store and broker answer (no key); and
``GET /docs``, the interactive docs, from this server's own copy of Swagger UI."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from flows.services import health
from storage.services import services

router = APIRouter(tags=["system"])


class Health(BaseModel):
    status: str
    database: str
    store: str
    broker: str


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
def healthz() -> JSONResponse:
    found = health(services())
    ok = all(state in ("ok", "not configured") for state in found.values())
    return JSONResponse({"status": "ok" if ok else "failing", **found}, 200 if ok else 503)


SWAGGER_UI = "/static/swagger-ui"  # api/static/swagger-ui: Swagger UI 5 (see its README)


@router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    """Swagger UI served by adreel itself: the docs work where no CDN can be reached."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="adreel API",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png",
    )
