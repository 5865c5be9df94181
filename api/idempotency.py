"""``Idempotency-Key`` on POSTs that create or charge: a replay gets the first response;
the same key with another request is refused (422)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse

from api.problems import ApiProblem
from api.render import plain
from storage.keys import ApiKey, first_response, keep_response
from storage.services import services

MAX_KEY_CHARS = 255


def request_hash(*parts: Any) -> str:
    text = json.dumps(plain(list(parts)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def idempotent(
    key: ApiKey,
    idempotency_key: str | None,
    fingerprint: str,
    run: Callable[[], tuple[int, Any]],
    headers: dict | None = None,
) -> JSONResponse:
    """Answer ``run()``'s ``(status, body)``, or the first answer to ``idempotency_key``."""
    if idempotency_key is None:
        status, body = run()
        return JSONResponse(plain(body), status_code=status, headers=headers)
    if not 0 < len(idempotency_key) <= MAX_KEY_CHARS:
        raise ApiProblem(
            422, f"Idempotency-Key: 1 to {MAX_KEY_CHARS} characters", field="Idempotency-Key"
        )
    db = services().db
    first = first_response(db, key.key_id, idempotency_key)
    if first is not None:
        if first["request_sha256"] != fingerprint:
            raise ApiProblem(
                422,
                f"Idempotency-Key {idempotency_key!r} was used for another request; "
                "use a new key for a new request",
                field="Idempotency-Key",
            )
        return JSONResponse(
            first["response"],
            status_code=first["status_code"],
            headers={**(headers or {}), "Idempotent-Replayed": "true"},
        )
    status, body = run()
    shown = plain(body)
    keep_response(db, key.key_id, idempotency_key, fingerprint, status, shown)
    return JSONResponse(shown, status_code=status, headers=headers)
