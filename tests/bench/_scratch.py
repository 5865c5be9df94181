"""A database of its own for a benchmark, on the configured server, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import make_conninfo

from storage.db import Database, resolve_database_url
from storage.migrations import migrate
from storage.settings import get_settings


@contextmanager
def scratch_database() -> Iterator[Database]:
    admin_url = resolve_database_url(get_settings())
    name = f"adreel_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with Database(make_conninfo(admin_url, dbname=name), max_size=2) as db:
            with db.connection() as conn:
                migrate(conn)
            yield db
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
