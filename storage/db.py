"""The one place that hands out PostgreSQL connections: a psycopg 3 pool."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from storage.embedded import embedded_database_url
from storage.errors import ConfigError
from storage.settings import Settings

CONNECT_TIMEOUT_S = 5


def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.embedded_pgdata, settings.embedded_idle_s)


class Database:
    """A pool of connections returning rows as dicts."""

    def __init__(self, url: str, max_size: int = 4) -> None:
        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "connect_timeout": CONNECT_TIMEOUT_S},
            open=False,
            name="adreel",
        )

    def open(self) -> Database:
        """Open the pool and prove the server answers, or say which setting to fix."""
        try:
            with psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S):
                pass
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                "ADREEL_DATABASE_URL", f"cannot connect to PostgreSQL: {reason}"
            ) from exc
        self.pool.open()
        try:
            self.pool.wait(timeout=CONNECT_TIMEOUT_S)
        except PoolTimeout as exc:
            raise ConfigError("ADREEL_DATABASE_URL", "PostgreSQL did not answer in time") from exc
        return self

    def close(self) -> None:
        self.pool.close()

    def ping(self) -> None:
        """Raise unless the server answers a trivial query now."""
        with self.pool.connection(timeout=CONNECT_TIMEOUT_S) as conn:
            conn.execute("SELECT 1")

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        """A connection inside a transaction: committed on success, rolled back on error."""
        with self.pool.connection() as conn:
            yield conn

    def __enter__(self) -> Database:
        return self.open()

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_database(settings: Settings) -> Database:
    return Database(resolve_database_url(settings), settings.db_pool_size).open()
