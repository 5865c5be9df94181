"""bench attribution: import interactions and order lines, attribute, post commissions.

Generated data: MERCHANTS merchants (flat 20% GMV share in USD, 7-day click and 1-day
view windows, 3 assets each), INTERACTIONS clicks and views (30% clicks, a tenth of
them with a click id) by 200 customers per merchant over October, and LINES order
lines (two per order, a tenth carrying a click id). Timed: ``import_file`` of the
interactions file, then of the orders file, which attributes every order and posts one
commission transaction per attributed line. Baseline, in the same run and on the same
tables: one plain SQL join that finds each order's most recent prior click.

Floor, in the same run (reported, not used for the ratio): a bare binary COPY of the
same interactions into a table made ``LIKE interactions INCLUDING ALL``, and of the same
order lines (the file's columns) into one ``LIKE order_lines INCLUDING ALL``: what
storing the rows with their indexes costs at all, whatever the import does around it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from attribution.imports import import_file
from billing.contracts import _validated, create_version
from tests.bench._scratch import scratch_database
from tests.helpers.finance import gmv_contract

OCTOBER = np.datetime64("2026-10-01T00:00:00", "s")
MONTH_S = 31 * 24 * 3600
ASSETS_PER_MERCHANT = 3
CUSTOMERS_PER_MERCHANT = 200

# The columns an orders file fills; the floor copies those (the rest take their defaults).
ORDER_COLUMNS = (
    "order_id, line_id, merchant_id, ordered_at, customer_key, product_id, quantity, "
    "unit_price, discount, currency, click_id"
)
FLOOR_TABLES = (
    ("interactions", "event_id, merchant_id, asset_id, kind, customer_key, occurred_at, click_id"),
    ("order_lines", ORDER_COLUMNS),
)

BASELINE = """
CREATE TEMP TABLE baseline_result AS
SELECT o.order_id, c.asset_id
FROM (SELECT DISTINCT ON (order_id) order_id, merchant_id, customer_key, ordered_at
      FROM order_lines ORDER BY order_id) o
LEFT JOIN LATERAL (
    SELECT i.asset_id FROM interactions i
    WHERE i.merchant_id = o.merchant_id AND i.customer_key = o.customer_key
      AND i.kind = 'click' AND i.occurred_at <= o.ordered_at
    ORDER BY i.occurred_at DESC LIMIT 1) c ON true
"""


@click.command()
@click.option("--lines", default=1_000_000, show_default=True, help="Order lines.")
@click.option("--interactions", default=5_000_000, show_default=True, help="Clicks and views.")
@click.option("--merchants", default=1_000, show_default=True)
def main(lines: int, interactions: int, merchants: int) -> dict:
    rng = np.random.default_rng(7)
    with TemporaryDirectory() as tmp, scratch_database() as db, db.connection() as conn:
        assets = _merchants(conn, merchants)
        events_path = _write_interactions(Path(tmp), rng, interactions, merchants, assets)
        orders_path = _write_orders(Path(tmp), rng, lines, merchants)
        click.echo(f"generated {interactions:,} interactions and {lines:,} order lines", err=True)
        started = time.perf_counter()
        events = import_file(conn, "interactions", events_path)
        interactions_s = time.perf_counter() - started
        orders = import_file(conn, "orders", orders_path)
        seconds = time.perf_counter() - started
        conn.commit()
        started = time.perf_counter()
        conn.execute(BASELINE)
        baseline = time.perf_counter() - started
        attributed = conn.execute("SELECT count(*) AS n FROM order_attributions").fetchone()["n"]
        floors = {table: _copy_floor(conn, Path(tmp), table, cols) for table, cols in FLOOR_TABLES}
    floor = sum(floors.values())
    return {
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline, 3),
        "throughput": round(lines / seconds),
        "unit": "order lines/s",
        "extra": {
            "lines": lines,
            "interactions": interactions,
            "merchants": merchants,
            "interactions_import_s": round(interactions_s, 3),
            "orders_import_attribute_post_s": round(seconds - interactions_s, 3),
            "attributed_orders": attributed,
            "accrued_lines": orders.accrual.accrued_lines,
            "new_interactions": events.new,
            "floor_interactions_copy_s": round(floors["interactions"], 3),
            "floor_order_lines_copy_s": round(floors["order_lines"], 3),
            "floor_seconds": round(floor, 3),
            "floor_ratio": round(floor / baseline, 3),
        },
    }


def _copy_floor(conn, tmp: Path, table: str, columns: str) -> float:
    """Seconds of a bare binary COPY of ``table``'s rows into an empty copy of it (same
    columns, constraints and indexes). The rows are read out first (untimed) into a file,
    so only the COPY into the table is timed, as a client would send it."""
    dump = tmp / f"{table}.copy"
    select = f"COPY (SELECT {columns} FROM {table}) TO STDOUT (FORMAT binary)"
    with dump.open("wb") as out, conn.cursor().copy(select) as copy:
        for block in copy:
            out.write(block)
    target = f"floor_{table}"
    conn.execute(f"CREATE TABLE {target} (LIKE {table} INCLUDING ALL)")
    conn.commit()
    started = time.perf_counter()
    with conn.cursor().copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        for block in _blocks(dump):
            copy.write(block)
    conn.commit()
    seconds = time.perf_counter() - started
    dump.unlink()
    return seconds


def _blocks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as source:
        while block := source.read(size):
            yield block


def _merchants(conn, count: int) -> np.ndarray:
    """Merchants with a contract and assets; returns asset ids shaped (merchant, asset)."""
    conn.execute(
        "INSERT INTO merchants (merchant_id, name) SELECT 'm' || g, 'm' || g "
        "FROM generate_series(0, %s - 1) g",
        (count,),
    )
    contract = _validated(gmv_contract(), "bench contract")
    for merchant in range(count):
        create_version(conn, f"m{merchant}", contract)
    conn.execute(
        "INSERT INTO products (merchant_id, product_id, title, price, currency, content_hash) "
        "SELECT merchant_id, 'P', 'P', 1, 'USD', 'h' FROM merchants"
    )
    conn.execute(
        "INSERT INTO render_jobs (request_hash, merchant_id, product_id, model, profile, spec) "
        "SELECT merchant_id || ':' || a, merchant_id, 'P', 'm', 'final', '{}' "
        "FROM merchants, generate_series(0, %s - 1) a",
        (ASSETS_PER_MERCHANT,),
    )
    rows = conn.execute(
        "INSERT INTO assets (merchant_id, product_id, request_hash, variant, kind, object_key, "
        "sha256, size_bytes, content_type) SELECT merchant_id, 'P', request_hash, 'v', 'video', "
        "request_hash, repeat('0', 64), 1, 'video/mp4' FROM render_jobs "
        "RETURNING asset_id, merchant_id, request_hash"
    ).fetchall()
    conn.commit()
    ids = np.zeros((count, ASSETS_PER_MERCHANT), dtype=np.int64)
    for row in rows:
        merchant, asset = row["request_hash"].split(":")
        ids[int(merchant[1:]), int(asset)] = row["asset_id"]
    return ids


def _times(rng, n: int) -> pa.Array:
    seconds = OCTOBER + rng.integers(0, MONTH_S, n).astype("timedelta64[s]")
    stamps = pa.array(seconds, pa.timestamp("s", tz="UTC"))
    return pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%S+00:00")


def _ids(prefix: str, values: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pa.array(values).cast(pa.string()), "")


def _write_interactions(tmp: Path, rng, n: int, merchants: int, assets: np.ndarray) -> Path:
    merchant = rng.integers(0, merchants, n)
    asset = assets[merchant, rng.integers(0, ASSETS_PER_MERCHANT, n)]
    is_click = rng.random(n) < 0.3
    with_id = is_click & (rng.random(n) < 0.1)
    click_ids = pc.if_else(pa.array(with_id), _ids("k", np.arange(n)), None)
    table = pa.table(
        {
            "event_id": _ids("e", np.arange(n)),
            "merchant_id": _ids("m", merchant),
            "asset_id": pa.array(asset),
            "kind": pa.array(np.where(is_click, "click", "view")),
            "customer_key": _ids(
                "c", merchant * CUSTOMERS_PER_MERCHANT + rng.integers(0, CUSTOMERS_PER_MERCHANT, n)
            ),
            "occurred_at": _times(rng, n),
            "click_id": click_ids,
        }
    )
    path = tmp / "interactions.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    np.save(tmp / "click_rows.npy", np.flatnonzero(with_id))
    return path


def _cents(cents: np.ndarray) -> pa.Array:
    """Whole cents as decimal strings ("123.45"), without passing through floats."""
    units = pa.array(cents // 100).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(units, fraction, ".")


def _write_orders(tmp: Path, rng, lines: int, merchants: int) -> Path:
    orders = lines // 2
    merchant = np.repeat(rng.integers(0, merchants, orders), 2)[:lines]
    customer = np.repeat(rng.integers(0, CUSTOMERS_PER_MERCHANT, orders), 2)[:lines]
    order_no = np.repeat(np.arange(orders), 2)[:lines]
    times = _times(rng, orders).take(pa.array(order_no))
    # a tenth of the orders carry a click id of some click (mostly another customer's)
    click_rows = np.load(tmp / "click_rows.npy")
    carries = np.repeat(rng.random(orders) < 0.1, 2)[:lines]
    picked = np.repeat(click_rows[rng.integers(0, len(click_rows), orders)], 2)[:lines]
    table = pa.table(
        {
            "order_id": _ids("o", order_no),
            "line_id": pa.array(np.tile(["1", "2"], orders + 1)[:lines]),
            "merchant_id": _ids("m", merchant),
            "ordered_at": times,
            "customer_key": _ids("c", merchant * CUSTOMERS_PER_MERCHANT + customer),
            "product_id": pa.array(np.full(lines, "SKU")),
            "quantity": pa.array(rng.integers(1, 4, lines)),
            "unit_price": _cents(rng.integers(100, 20_000, lines)),
            "discount": pa.nulls(lines, pa.string()),
            "currency": pa.array(np.full(lines, "USD")),
            "click_id": pc.if_else(pa.array(carries), _ids("k", picked), None),
        }
    )
    path = tmp / "orders.csv"
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    return path
