"""API keys and Idempotency-Key replays for the HTTP API.

They live in storage/ beside merchants because they are tenancy infrastructure, not a
business domain: a key is who may act for which merchant, and every entry point (the
``adreel keys`` commands, the API's authentication) needs it without importing a domain
package. A key is shown once; only its SHA-256 hash and a short prefix are stored.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from storage.db import Database
from storage.errors import AdreelError, NotFound
from storage.merchants import ensure_merchant
from storage.queries import query

log = logging.getLogger(__name__)

ROLES = ("merchant", "account_manager", "finance", "admin")
KEY_PREFIX = "adr_"
SHOWN_PREFIX_CHARS = 12
KEY_EVENTS = "adreel_api_keys"  # the channel revokes NOTIFY on
CACHED_FOR_S = 60.0  # a backstop for revokes made outside adreel (plain SQL, no NOTIFY)


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
    """Revoke a key: refused from its next request on. Revoking twice is a no-op. The
    commit NOTIFYs every API process's key cache, which forgets the key."""
    with db.connection() as conn:
        row = conn.execute(query("revoke_api_key"), {"key_id": key_id}).fetchone()
        if row is not None:
            conn.execute(query("notify_key_revoked"), {"key_id": key_id})
    if row is None:
        raise UnknownKey(key_id)
    if _cache is not None:
        _cache.evict(key_id)  # this process at once, without waiting for the NOTIFY
    return _shown(row)


def authenticate(db: Database, key: str) -> ApiKey | None:
    """The live key ``key`` is, recording its use; None for a wrong or revoked key.
    In an API process that keeps a key cache (``keep_key_cache``), a key seen before is
    answered from memory and its use recorded within a few seconds."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = key_sha256(key)
    cache = _cache
    if cache is not None and (known := cache.get(digest)) is not None:
        cache.used(known.key_id)
        return known
    generation = cache.generation if cache is not None else 0
    params = {"key_sha256": digest}
    with db.connection() as conn:
        row = conn.execute(query("use_api_key"), params).fetchone()
        if row is None:
            row = conn.execute(query("find_live_api_key"), params).fetchone()
    if row is None:
        return None
    found = ApiKey(row["key_id"], row["role"], row["merchant_id"])
    if cache is not None:
        cache.put(digest, found, generation)
    return found


def remembered(key: str) -> ApiKey | None:
    """The live key ``key`` is if this process's key cache knows it (recording its use),
    without touching the database; None means ask ``authenticate``."""
    cache = _cache
    if cache is None or not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    known = cache.get(key_sha256(key))
    if known is not None:
        cache.used(known.key_id)
    return known


class KeyCache:
    """Live keys by hash in one API process, so that a request need not look its key up
    in PostgreSQL. Revocation stays effective on the next request: ``revoke_key``
    NOTIFYs ``adreel_api_keys`` at commit and the process's listener evicts the key as
    the notification arrives (milliseconds). A lookup that raced a revoke is not kept
    (``generation``). Nothing is cached while the listener is not connected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[ApiKey, float]] = {}
        self._uses: dict[int, datetime] = {}
        self.generation = 0
        self.listening = False

    def get(self, digest: str) -> ApiKey | None:
        entry = self._keys.get(digest)
        if entry is None or not self.listening or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, key: ApiKey, generation: int) -> None:
        with self._lock:
            if self.listening and generation == self.generation:
                self._keys[digest] = (key, time.monotonic() + CACHED_FOR_S)

    def evict(self, key_id: int) -> None:
        with self._lock:
            self.generation += 1
            self._keys = {d: e for d, e in self._keys.items() if e[0].key_id != key_id}

    def reset(self, listening: bool) -> None:
        with self._lock:
            self.generation += 1
            self._keys = {}
            self.listening = listening

    def used(self, key_id: int) -> None:
        self._uses[key_id] = datetime.now(UTC)

    def take_uses(self) -> dict[int, datetime]:
        with self._lock:
            uses, self._uses = self._uses, {}
        return uses


_cache: KeyCache | None = None


def keep_key_cache(url: str, stop: threading.Event, flush_s: float = 5.0) -> None:
    """Run this process's key cache until ``stop`` is set (the API runs it in a thread):
    LISTEN for revokes, and write the keys' last uses every ``flush_s`` seconds."""
    global _cache
    cache = _cache = KeyCache()
    while not stop.is_set():
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f"LISTEN {KEY_EVENTS}")
                cache.reset(listening=True)
                while not stop.is_set():
                    for note in conn.notifies(timeout=flush_s):
                        if note.payload.isdigit():
                            cache.evict(int(note.payload))
                        else:  # not ours: forget everything rather than guess
                            cache.reset(listening=True)
                    _record_uses(conn, cache.take_uses())
        except Exception as exc:  # never keep serving from a cache nobody keeps
            log.warning("API key cache: %s; asking PostgreSQL for every request", exc)
            cache.reset(listening=False)
            stop.wait(1.0)
    cache.reset(listening=False)


def _record_uses(conn: psycopg.Connection, uses: dict[int, datetime]) -> None:
    if uses:
        params = {"key_ids": list(uses), "used_at": list(uses.values())}
        conn.execute(query("record_key_use"), params)


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
