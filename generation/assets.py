"""Asset rows: each points at an object already in the store (object first, then row)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from generation.queries import query


def record_asset(conn: psycopg.Connection, asset: Mapping[str, Any]) -> int:
    """Insert the asset row, or return the id of the same asset recorded before."""
    row = {"campaign_id": None, "template": None, "qa_status": "unchecked", **asset}
    row["qa_reasons"] = Jsonb(list(row.get("qa_reasons") or []))
    return conn.execute(query("insert_asset"), row).fetchone()["asset_id"]


def assets_for_renders(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict[str, Any]]:
    return conn.execute(
        query("list_assets_for_renders"), {"request_hashes": request_hashes}
    ).fetchall()


def list_assets(
    conn: psycopg.Connection, merchant_id: str, campaign_id: str | None = None
) -> list[dict[str, Any]]:
    params = {"merchant_id": merchant_id, "campaign_id": campaign_id, "asset_id": None}
    return conn.execute(query("list_assets"), params).fetchall()


def find_asset(conn: psycopg.Connection, merchant_id: str, asset_id: int) -> dict | None:
    """The asset if it is this merchant's; None otherwise, whoever else it belongs to."""
    params = {"merchant_id": merchant_id, "campaign_id": None, "asset_id": asset_id}
    return conn.execute(query("list_assets"), params).fetchone()
