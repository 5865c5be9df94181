"""Asset rows: each points at an object already in the store (object first, then row)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from storage.queries import query


def record_asset(conn: psycopg.Connection, asset: Mapping[str, Any]) -> int:
    """Insert the asset row, or return the id of the same asset recorded before."""
    return conn.execute(query("insert_asset"), dict(asset)).fetchone()["asset_id"]


def assets_for_renders(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict[str, Any]]:
    return conn.execute(
        query("list_assets_for_renders"), {"request_hashes": request_hashes}
    ).fetchall()


def list_assets(conn: psycopg.Connection, merchant_id: str) -> list[dict[str, Any]]:
    return conn.execute(query("list_assets"), {"merchant_id": merchant_id}).fetchall()
