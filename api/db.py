"""The API's async connection pool, for the hot reads served on the event loop (the
product list): no thread hop per request. Everything else runs the domain's service
functions on their own (sync) pool in the thread pool. Connections are in autocommit:
the reads served here are single statements."""

from __future__ import annotations

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from storage.db import CONNECT_TIMEOUT_S

_pool: AsyncConnectionPool | None = None


async def open_pool(url: str, size: int) -> AsyncConnectionPool:
    global _pool
    _pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs={"row_factory": dict_row, "autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S},
        open=False,
        name="adreel-api",
    )
    await _pool.open()
    return _pool


def pool() -> AsyncConnectionPool:
    if _pool is None:
        raise RuntimeError("the API's async pool opens with the app (lifespan)")
    return _pool
