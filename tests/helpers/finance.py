"""Builders for the attribution tests: merchants with a GMV-share contract and assets."""

from __future__ import annotations

import uuid
from pathlib import Path

from billing.contracts import _validated, create_version
from storage.merchants import ensure_merchant

ORDER_COLUMNS = (
    "order_id,line_id,merchant_id,ordered_at,customer_key,product_id,quantity,unit_price,"
    "discount,currency,click_id"
)
INTERACTION_COLUMNS = "event_id,merchant_id,asset_id,kind,customer_key,occurred_at,click_id"


def gmv_contract(currency="USD", schedule="flat", tiers=(("0", "0.20"),), **extra) -> dict:
    return {
        "effective_from": "2026-01-01",
        "currency": currency,
        "modes": ["gmv_share", "raas"],
        "raas": [
            {"format": "9x16", "duration_s": 15, "price": "10" if currency != "JPY" else "1000"}
        ],
        "gmv_share": {"schedule": schedule, "tiers": [{"from": f, "rate": r} for f, r in tiers]},
        "attribution": {"click_days": 7, "view_days": 1},
        "lock_days": 15,
        **extra,
    }


def new_gmv_merchant(conn, contract: dict | None = None, assets: int = 3, template="showcase"):
    """A merchant with a contract (default: flat 20% in USD) and ``assets`` video assets."""
    merchant = f"fin-{uuid.uuid4().hex[:10]}"
    ensure_merchant(conn, merchant, merchant)
    create_version(conn, merchant, _validated(contract or gmv_contract(), "test contract"))
    return merchant, make_assets(conn, merchant, assets, template)


def make_assets(conn, merchant: str, count: int, template: str = "showcase") -> list[int]:
    conn.execute(
        "INSERT INTO products (merchant_id, product_id, title, price, currency, content_hash) "
        "VALUES (%s, 'P1', 'Product', 10, 'USD', 'h') ON CONFLICT DO NOTHING",
        (merchant,),
    )
    ids = []
    for _ in range(count):
        request = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO render_jobs (request_hash, merchant_id, product_id, model, profile, spec)"
            " VALUES (%s, %s, 'P1', 'builtin:tiny', 'final', '{}')",
            (request, merchant),
        )
        row = conn.execute(
            "INSERT INTO assets (merchant_id, product_id, request_hash, variant, kind, object_key,"
            " sha256, size_bytes, content_type, template) VALUES (%s, 'P1', %s, 'v', 'video',"
            " %s, %s, 1, 'video/mp4', %s) RETURNING asset_id",
            (merchant, request, f"k/{request}", "0" * 64, template),
        ).fetchone()
        ids.append(row["asset_id"])
    conn.commit()
    return ids


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path
