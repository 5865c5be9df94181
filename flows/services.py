"""The process's connections to the outside: settings, database pool, object store.

Flow tasks take ids and reach services through ``services()``, so nothing that
cannot be serialised crosses a task boundary.
"""

from __future__ import annotations

import atexit
import os
from functools import cached_property

from storage.db import Database, open_database
from storage.migrations import migrate
from storage.objects import ObjectStore, open_store
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
        _current = Services(settings, db)
    return _current


def preflight(settings: Settings, load_model: bool = False) -> Services:
    """Check every configured part answers, so a bad setting fails in one line up front.

    ``load_model``: load the pipeline itself (a worker keeps it for every batch), so a
    model directory with missing files fails here rather than on the first batch.
    """
    from generation.dispatch import check_broker
    from generation.models import load_pipeline, resolve_model_source

    opened = services()
    opened.store  # noqa: B018 (opening it checks the bucket or directory)
    if load_model:
        load_pipeline(settings.model, settings.home, settings.device)
    else:
        resolve_model_source(settings.model, settings.home)
    if settings.broker_url:
        check_broker(settings.broker_url)
    return opened


def close_services() -> None:
    """Forget the open services (tests change settings between commands)."""
    global _current
    if _current is not None:
        _current.db.close()
        _current = None


def migrate_database(db: Database) -> list[str]:
    with db.connection() as conn:
        return [f"{m.version:04d}_{m.name}" for m in migrate(conn)]


def configure_prefect(settings: Settings) -> None:
    """Keep Prefect's local state under $ADREEL_HOME unless the user set it up already.

    Must run before ``prefect`` is imported: Prefect reads its settings at import.
    """
    os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
