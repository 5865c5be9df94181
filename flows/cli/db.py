"""``adreel db``: the database schema."""

from __future__ import annotations

import click

from flows.cli.output import emit_json, status
from storage.db import open_database
from storage.embedded import stop_embedded
from storage.errors import AdreelError
from storage.services import migrate_database
from storage.settings import get_settings


@click.group("db")
def db_group() -> None:
    """The PostgreSQL schema (ADREEL_DATABASE_URL; unset: embedded PostgreSQL)."""


@db_group.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def migrate_command(as_json: bool) -> None:
    """Apply pending migrations; safe to run twice or from two processes at once."""
    with open_database(get_settings()) as database:
        applied = migrate_database(database)
    if as_json:
        emit_json({"applied": applied})
    elif applied:
        status(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        status("schema is up to date; nothing applied")


@db_group.command("stop")
def stop_command() -> None:
    """Stop the embedded PostgreSQL now (it also stops by itself after
    ADREEL_EMBEDDED_IDLE_S without a client; the next command starts it again)."""
    settings = get_settings()
    if settings.database_url:
        raise AdreelError("ADREEL_DATABASE_URL is set: adreel does not run that server")
    stopped = stop_embedded(settings.embedded_pgdata)
    status("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")


def register(cli: click.Group) -> None:
    cli.add_command(db_group)
