"""Migrations: a fresh migrate gives the expected schema, twice is a no-op, and two
processes at once apply each file exactly once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from storage.errors import MigrationError
from storage.migrations import Migration, available_migrations, migrate
from tests.helpers.cli import run_adreel

EXPECTED_SCHEMA = Path(__file__).with_name("expected_schema.txt")


def describe_schema(url: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT table_name, column_name, data_type, is_nullable
               FROM information_schema.columns WHERE table_schema = 'public'
               ORDER BY table_name, ordinal_position"""
        ).fetchall()
    return "\n".join(" ".join(row) for row in rows) + "\n"


def test_fresh_migrate_gives_expected_schema(fresh_database_url):
    with psycopg.connect(fresh_database_url) as conn:
        applied = migrate(conn)
    assert [m.version for m in applied] == [m.version for m in available_migrations()]
    assert describe_schema(fresh_database_url) == EXPECTED_SCHEMA.read_text()


def test_second_migrate_applies_nothing(fresh_database_url):
    with psycopg.connect(fresh_database_url) as conn:
        migrate(conn)
        assert migrate(conn) == []
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert count == len(available_migrations())


def test_two_processes_migrating_at_once_apply_each_file_once(fresh_database_url):
    env = {"ADREEL_DATABASE_URL": fresh_database_url}

    def run_migrate(_):
        return run_adreel("db", "migrate", "--json", env=env, timeout=120)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run_migrate, range(2)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    applied = sorted(len(json.loads(r.stdout)["applied"]) for r in results)
    assert applied == [0, len(available_migrations())]


def test_edited_migration_is_refused(fresh_database_url, monkeypatch):
    with psycopg.connect(fresh_database_url) as conn:
        migrate(conn)
    original = available_migrations()
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited") for m in original]
    monkeypatch.setattr("storage.migrations.available_migrations", lambda: edited)
    with (
        psycopg.connect(fresh_database_url) as conn,
        pytest.raises(MigrationError, match="changed"),
    ):
        migrate(conn)
