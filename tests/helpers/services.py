"""Names and databases of the services the suite runs against (see ``tests/conftest.py``)."""

from __future__ import annotations

import os
import socket
import uuid

import psycopg
from psycopg.conninfo import make_conninfo

TEST_BUCKET = "adreel-test"
BROKER_URL = os.environ.get("ADREEL_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(admin_url: str) -> str:
    name = f"adreel_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_conninfo(admin_url, dbname=name)


def drop_database(admin_url: str, url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
