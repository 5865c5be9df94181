"""``GET /healthz``: whether the database, object store and broker answer (no key)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
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
