"""API keys and Idempotency-Key replays for the HTTP API.

They live in storage/ beside merchants because they are tenancy infrastructure, not a
business domain: a key is who may act for which merchant, and every entry point (the
``adreel keys`` commands, the API's authentication) needs it without importing a domain
package. A key is shown once; only its SHA-256 hash and a short prefix are stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from storage.db import Database
from storage.errors import AdreelError, NotFound
from storage.merchants import ensure_merchant
from storage.queries import query

ROLES = ("merchant", "account_manager", "finance", "admin")
KEY_PREFIX = "adr_"
SHOWN_PREFIX_CHARS = 12


class UnknownKey(NotFound):
    def __init__(self, key_id: int) -> None:
        super().__init__(f"no API key {key_id}")


@dataclass(frozen=True)
class ApiKey:
    """Who a request acts as: the key's id, role and (merchant keys only) merchant."""

    key_id: int
    role: str
    merchant_id: str | None


def key_sha256(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    db: Database, role: str, merchant_id: str | None = None, name: str | None = None
) -> dict[str, Any]:
    """A new key: ``{"key", "id", ...}``. The key itself is in this answer only."""
    if role not in ROLES:
        raise AdreelError(f"--role: {role!r}; choose one of {', '.join(ROLES)}")
    if (role == "merchant") != (merchant_id is not None):
        raise AdreelError(
            "--merchant: a merchant key needs its merchant"
            if role == "merchant"
            else f"--merchant: a {role} key is not tied to a merchant"
        )
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    params = {
        "key_sha256": key_sha256(key),
        "prefix": key[:SHOWN_PREFIX_CHARS],
        "role": role,
        "merchant_id": merchant_id,
        "name": name,
    }
    try:
        with db.connection() as conn, conn.transaction():
            if merchant_id is not None:
                ensure_merchant(conn, merchant_id, merchant_id)
            row = conn.execute(query("insert_api_key"), params).fetchone()
    except psycopg.errors.CheckViolation:
        raise AdreelError(
            f"--merchant: {merchant_id!r} is not a merchant id (letters, digits, '_', '.', "
            "'-'; at most 64 characters)"
        ) from None
    return {"key": key, "id": row.pop("key_id"), **row}


def list_keys(db: Database) -> list[dict[str, Any]]:
    """Every key (never the key itself), newest first."""
    with db.connection() as conn:
        return [_shown(row) for row in conn.execute(query("list_api_keys"))]


def revoke_key(db: Database, key_id: int) -> dict[str, Any]:
    """Revoke a key: refused from its next request on. Revoking twice is a no-op."""
    with db.connection() as conn:
        row = conn.execute(query("revoke_api_key"), {"key_id": key_id}).fetchone()
    if row is None:
        raise UnknownKey(key_id)
    return _shown(row)


def authenticate(db: Database, key: str) -> ApiKey | None:
    """The live key ``key`` is, recording its use; None for a wrong or revoked key."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    params = {"key_sha256": key_sha256(key)}
    with db.connection() as conn:
        row = conn.execute(query("use_api_key"), params).fetchone()
        if row is None:
            row = conn.execute(query("find_live_api_key"), params).fetchone()
    return ApiKey(row["key_id"], row["role"], row["merchant_id"]) if row else None


def live_key(db: Database, key_id: int) -> ApiKey | None:
    """The key with id ``key_id`` if it is still live (a console session's key)."""
    with db.connection() as conn:
        row = conn.execute(query("find_live_api_key_by_id"), {"key_id": key_id}).fetchone()
    return ApiKey(row["key_id"], row["role"], row["merchant_id"]) if row else None


def first_response(db: Database, key_id: int, idempotency_key: str) -> dict | None:
    """The first response to ``idempotency_key`` of this API key:
    ``{"request_sha256", "status_code", "response"}``, or None."""
    params = {"key_id": key_id, "idempotency_key": idempotency_key}
    with db.connection() as conn:
        return conn.execute(query("find_idempotent_response"), params).fetchone()


def keep_response(
    db: Database,
    key_id: int,
    idempotency_key: str,
    request_sha256: str,
    status_code: int,
    response: Any,
) -> None:
    """Keep the first response to ``idempotency_key`` (a later one is not kept)."""
    params = {
        "key_id": key_id,
        "idempotency_key": idempotency_key,
        "request_sha256": request_sha256,
        "status_code": status_code,
        "response": Jsonb(response),
    }
    with db.connection() as conn:
        conn.execute(query("save_idempotent_response"), params)


def _shown(row: dict) -> dict:
    return {"id": row.pop("key_id"), **row}
