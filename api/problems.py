"""Errors as RFC 9457 problem documents: the one place exceptions become HTTP statuses."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from billing.errors import ContractError
from campaigns.spec import CampaignFileError
from catalog.errors import CatalogError
from generation.delivery import UnknownAsset
from storage.errors import AdreelError, ConfigError, NotFound

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(BaseModel):
    """An RFC 9457 problem document; ``file``, ``row`` and ``field`` where they apply."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    file: str | None = None
    row: int | None = None
    field: str | None = None


def problem(status: int, detail: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status}
    body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


class ApiProblem(Exception):
    """Raised by handlers and dependencies for a problem of the request itself."""

    def __init__(self, status: int, detail: str, headers: dict | None = None, **extra) -> None:
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra
        super().__init__(detail)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "-")


def error_status(exc: Exception) -> int:
    if isinstance(exc, NotFound | UnknownAsset):
        return 404
    if isinstance(exc, CatalogError | CampaignFileError | ContractError):
        return 422
    if isinstance(exc, ConfigError):
        return 503
    return 400


def problem_body(exc: Exception) -> dict[str, Any]:
    """The problem document for a domain error (kept by jobs that fail in the
    background): a catalog file's problem names the uploaded file, not a server path."""
    if isinstance(exc, CatalogError):
        name = Path(exc.path).name
        detail = f"{name}: row {exc.row}: {exc.field}: {exc.problem}"
        extra = {"file": name, "row": exc.row, "field": exc.field}
        return json.loads(problem(422, detail, **extra).body)
    if isinstance(exc, AdreelError):
        return json.loads(problem(error_status(exc), str(exc)).body)
    return json.loads(problem(500, "the server failed; the error is in its log").body)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem):
        return problem(exc.status, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(CatalogError)
    async def _catalog(request: Request, exc: CatalogError):
        name = Path(exc.path).name  # the uploaded file's name, not the server's temp path
        detail = f"{name}: row {exc.row}: {exc.field}: {exc.problem}"
        return problem(422, detail, file=name, row=exc.row, field=exc.field)

    @app.exception_handler(AdreelError)
    async def _adreel(request: Request, exc: AdreelError):
        status = error_status(exc)
        field = getattr(exc, "setting", None)
        return problem(status, str(exc), field=field)

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError):
        # a value PostgreSQL cannot take (a NUL byte in text, a number out of range)
        reason = exc.diag.message_primary or str(exc).splitlines()[0]
        return problem(422, f"a value the database cannot store: {reason}")

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        first = exc.errors()[0]
        field = _field(first.get("loc", ()))
        message = first.get("msg", "invalid").removeprefix("Value error, ")
        if first.get("type") == "extra_forbidden":
            message = "unknown field"
        elif first.get("type") == "json_invalid":
            message = "malformed JSON"
        return problem(422, f"{field}: {message}", field=field)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        return problem(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "the server failed; the error is in its log")


def responses(*statuses: int) -> dict:
    """OpenAPI entries for the problem statuses an operation may answer."""
    return {
        status: {"model": Problem, "description": TITLES[status], "content": {PROBLEM_JSON: {}}}
        for status in statuses
    }
