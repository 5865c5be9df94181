"""The process's connections to the outside: settings, database pool, object store.

One bundle for every entry point (CLI, Prefect tasks, the Celery worker, the API):
service functions take it, and flow tasks take ids and reach it through
``services()``, so nothing that cannot be serialised crosses a task boundary.
"""

from __future__ import annotations

import atexit
from functools import cached_property

import psycopg

from storage.db import Database, open_database
from storage.errors import MigrationError
from storage.migrations import migrate, pending_migrations
from storage.objects import ObjectStore, StorageError, open_store
from storage.settings import Settings, get_settings


class Services:
    """Settings and the database pool; the object store is opened on first use, so
    commands that never touch objects (ledger, finance) do not need it configured."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db

    @cached_property
    def store(self) -> ObjectStore:
        return open_store(self.settings)


_current: Services | None = None


def services() -> Services:
    """Open (once per process) the database and object store the settings name."""
    global _current
    if _current is None:
        settings = get_settings()
        db = open_database(settings)
        atexit.register(db.close)
        prepare_schema(db, embedded=settings.database_url is None)
        _current = Services(settings, db)
    return _current


def prepare_schema(db: Database, embedded: bool) -> None:
    """The embedded database is adreel's own: migrate it on first use (a no-op when up to
    date). A configured one is the operator's: say what to run rather than change it."""
    if embedded:
        migrate_database(db)
        return
    with db.connection() as conn:
        pending = pending_migrations(conn)
    if pending:
        first = f"{pending[0].version:04d}_{pending[0].name}"
        raise MigrationError(
            f"the database at ADREEL_DATABASE_URL lacks {len(pending)} adreel migration(s) "
            f"(first: {first}); run `adreel db migrate`"
        )


def is_transient(exc: BaseException) -> bool:
    """A fault of the database, object store or network that a retry may not meet again;
    never bad input, which fails the same way again."""
    return isinstance(exc, psycopg.OperationalError | StorageError | ConnectionError | TimeoutError)


def close_services() -> None:
    """Forget the open services (tests change settings between commands)."""
    global _current
    if _current is not None:
        _current.db.close()
        _current = None


def migrate_database(db: Database) -> list[str]:
    """Apply pending migrations; the names of those applied now."""
    with db.connection() as conn:
        return [f"{m.version:04d}_{m.name}" for m in migrate(conn)]
