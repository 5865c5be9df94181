"""Versioned SQL migrations: numbered files in ``storage/migrations``, applied in order.

All pending migrations run in one transaction under an advisory lock, so running
``adreel db migrate`` twice, or from two processes at once, applies each file once.
A file that changed after it was applied is refused: write a new migration instead.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg.rows import tuple_row

from storage.errors import MigrationError

_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
# Any constant shared by every adreel process; the value itself means nothing.
_LOCK_KEY = 0x61647265656C


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("storage").joinpath("migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def pending_migrations(conn: psycopg.Connection) -> list[Migration]:
    """Migrations not applied yet, read without locking or writing anything."""
    cursor = conn.cursor(row_factory=tuple_row)
    with conn.transaction():
        (exists,) = cursor.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        if not exists:
            return available_migrations()
        applied = {
            version for (version,) in cursor.execute("SELECT version FROM schema_migrations")
        }
    return [m for m in available_migrations() if m.version not in applied]


def migrate(conn: psycopg.Connection) -> list[Migration]:
    """Apply pending migrations; return those applied now (empty when up to date)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   checksum   text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = conn.cursor(row_factory=tuple_row).execute(
            "SELECT version, checksum FROM schema_migrations"
        )
        applied = dict(rows.fetchall())
        pending = []
        for migration in available_migrations():
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name}.sql changed after it "
                        "was applied; add a new migration instead of editing an old one"
                    )
                continue
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            pending.append(migration)
        return pending
