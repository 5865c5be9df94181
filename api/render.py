"""Rendering answers: money as decimal strings, timestamps in UTC ISO 8601."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson
from fastapi.responses import Response

# orjson writes dicts, lists, strings and numbers in C; what it hands back (Decimal,
# dates and times, sets) goes through ``plain``, so the answer is as ``plain`` says.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return value


def _default(value: Any) -> Any:
    shown = plain(value)
    if shown is value:
        raise TypeError(f"cannot render {type(value).__name__}")
    return shown


def render(value: Any, status_code: int = 200, headers: dict | None = None) -> Response:
    return Response(
        orjson.dumps(value, default=_default, option=_OPTIONS),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
