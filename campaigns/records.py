"""Campaign rows: the campaign file, its planned materials, decisions and runs."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from campaigns.queries import query
from storage.errors import AdreelError


class CampaignBusy(AdreelError):
    """Another run of the same campaign holds its lock."""


def save_campaign(conn: psycopg.Connection, campaign_id: str, merchant_id: str, spec: dict) -> bool:
    """Create the campaign or replace its file; True when it is new.

    A campaign id belongs to one merchant: reusing it for another is refused.
    """
    params = {"campaign_id": campaign_id, "merchant_id": merchant_id, "spec": Jsonb(spec)}
    row = conn.execute(query("upsert_campaign"), params).fetchone()
    if row is None:
        raise AdreelError(f"campaign {campaign_id} belongs to another merchant; choose another id")
    return row["created"]


def get_campaign(conn: psycopg.Connection, campaign_id: str) -> dict[str, Any]:
    row = conn.execute(query("get_campaign"), {"campaign_id": campaign_id}).fetchone()
    if row is None:
        raise AdreelError(f"no campaign {campaign_id!r}; `adreel campaign list` shows them")
    return row


def list_campaigns(conn: psycopg.Connection, merchant_id: str | None = None) -> list[dict]:
    return conn.execute(query("list_campaigns"), {"merchant_id": merchant_id}).fetchall()


def scheduled_campaigns(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(query("scheduled_campaigns")).fetchall()


def set_schedule(
    conn: psycopg.Connection, campaign_id: str, cron: str | None, timezone: str | None
) -> None:
    get_campaign(conn, campaign_id)
    params = {"campaign_id": campaign_id, "cron": cron, "timezone": timezone}
    conn.execute(query("set_campaign_schedule"), params)


# The filters select_products takes; any left out matches everything.
PRODUCT_FILTERS = (
    "product_ids",
    "categories",
    "brands",
    "price_min",
    "price_max",
    "availability",
    "custom_labels",
    "changed_since",
)


def select_products(conn: psycopg.Connection, merchant_id: str, filters: Mapping) -> list[dict]:
    """The merchant's live products that match every filter given, except those whose
    image is still to be fetched (products with no image render without one)."""
    params = {**dict.fromkeys(PRODUCT_FILTERS), **filters, "merchant_id": merchant_id}
    return conn.execute(query("select_campaign_products"), params).fetchall()


def last_finished_run_start(conn: psycopg.Connection, campaign_id: str):
    row = conn.execute(query("last_finished_run"), {"campaign_id": campaign_id}).fetchone()
    return row["started_at"]


def upsert_materials(conn: psycopg.Connection, materials: list[Mapping[str, Any]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(query("upsert_material"), [dict(m) for m in materials])


def campaign_materials(conn: psycopg.Connection, campaign_id: str) -> list[dict[str, Any]]:
    return conn.execute(query("campaign_materials"), {"campaign_id": campaign_id}).fetchall()


def campaign_previews(conn: psycopg.Connection, campaign_id: str) -> list[dict[str, Any]]:
    """The campaign's rendered previews in priority order, each with its poster's object
    key (``preview_poster_key``), product, material and decision, for review."""
    return [
        m
        for m in campaign_materials(conn, campaign_id)
        if m["preview_asset_id"] is not None and m["preview_poster_key"] is not None
    ]


def decide(
    conn: psycopg.Connection,
    campaign_id: str,
    decision: str,
    asset_ids: list[int] | None,
    reason: str | None = None,
) -> list[int]:
    """Record the merchant's decision on previews (all of them when ``asset_ids`` is None);
    return the preview asset ids it applied to."""
    params = {
        "campaign_id": campaign_id,
        "decision": decision,
        "reason": reason,
        "asset_ids": asset_ids,
    }
    return sorted(row["asset_id"] for row in conn.execute(query("decide_materials"), params))


def set_final_hash(
    conn: psycopg.Connection, campaign_id: str, preview_hash: str, final_hash: str
) -> None:
    params = {"campaign_id": campaign_id, "preview_hash": preview_hash, "final_hash": final_hash}
    conn.execute(query("set_final_hash"), params)


def mark_delivered(conn: psycopg.Connection, campaign_id: str, final_hashes: list[str]) -> None:
    params = {"campaign_id": campaign_id, "final_hashes": final_hashes}
    conn.execute(query("mark_delivered"), params)


def start_run(conn: psycopg.Connection, campaign_id: str) -> dict:
    """Record a run; call with the campaign's lock held, so any run still marked
    running has died and is marked interrupted."""
    conn.execute(query("interrupt_stale_runs"), {"campaign_id": campaign_id})
    return conn.execute(query("start_campaign_run"), {"campaign_id": campaign_id}).fetchone()


def finish_run(conn: psycopg.Connection, run_id: int, status: str, summary: dict) -> None:
    params = {"run_id": run_id, "status": status, "summary": Jsonb(summary)}
    conn.execute(query("finish_campaign_run"), params)


def recent_runs(conn: psycopg.Connection, campaign_id: str) -> list[dict]:
    return conn.execute(query("campaign_runs"), {"campaign_id": campaign_id}).fetchall()


def campaign_tokens_used(conn: psycopg.Connection, campaign_id: str) -> int:
    row = conn.execute(query("campaign_tokens_used"), {"campaign_id": campaign_id}).fetchone()
    return row["tokens"]


@contextmanager
def campaign_lock(database_url: str, campaign_id: str) -> Iterator[None]:
    """Hold the campaign's lock for the block, or raise CampaignBusy at once.

    The lock lives on a connection of its own (autocommit, outside the pool), so a run
    that dies, even by SIGKILL, releases it with its connection.
    """
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        params = {"campaign_id": campaign_id}
        if not conn.execute(query("try_campaign_lock"), params).fetchone()["locked"]:
            raise CampaignBusy(
                f"campaign {campaign_id} is already running; wait for that run to finish"
            )
        try:
            yield
        finally:
            conn.execute(query("release_campaign_lock"), params)
