"""bench ingest: a Google-format TSV of N rows through parse + validate + upsert.

Baseline, in the same run: PostgreSQL COPY of the same file into a plain table with the
same columns (text, no checks). Images are deferred (`--images defer`), as a real
million-row feed would be. Runs in a database of its own.

Floor, reported in ``extra`` (not used for the ratio): the rows the upload stored, written
by bare binary COPY into a copy of ``products`` (``LIKE products INCLUDING ALL``: the same
indexes and checks, no triggers). It is what storing these rows costs PostgreSQL here
without any of adreel's work, so ``floor_ratio`` is the best ratio the bench could show.
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import click

from catalog.upload import upload_catalog
from flows.progress import progress_bars, tracker
from storage.services import Services
from storage.settings import get_settings
from tests.bench._scratch import scratch_database

COLUMNS = [
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "price",
    "sale_price",
    "availability",
    "condition",
    "brand",
    "gtin",
    "google_product_category",
]


@click.command()
@click.option("--rows", default=1_000_000, show_default=True, help="Rows in the feed.")
def main(rows: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="adreel-bench-") as scratch:
        feed = Path(scratch) / "feed.tsv"
        _write_feed(feed, rows)
        file_mb = round(feed.stat().st_size / 2**20, 1)
        with scratch_database() as db, progress_bars(enabled=True):
            services = Services(get_settings(), db)
            advance = tracker("ingesting", rows)
            started = time.perf_counter()
            result = upload_catalog(services, "bench", feed, images="defer", on_rows=advance)
            seconds = time.perf_counter() - started
            baseline = _copy_baseline(db, feed)
            floor = _copy_floor(db, Path(scratch) / "products.copy")
    return {
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline, 3),
        "throughput": round(rows / seconds),
        "unit": "rows/s",
        "extra": {
            "rows": rows,
            "accepted": result.accepted,
            "rejected": result.rejected,
            "file_mb": file_mb,
            "baseline_rows_per_s": round(rows / baseline),
            "floor_seconds": round(floor, 3),
            "floor_ratio": round(floor / baseline, 3),
        },
    }


def _write_feed(path: Path, rows: int) -> None:
    rng = random.Random(7)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\t".join(COLUMNS) + "\n")
        for n in range(rows):
            price = rng.randint(100, 99_999)
            sale = f"{price * 8 // 1000}.{price * 8 // 10 % 100:02d} USD" if n % 5 == 0 else ""
            handle.write(
                "\t".join(
                    [
                        f"SKU-{n:08d}",
                        f"Product {n} in colour {n % 17}",
                        f"<p>A <b>fine</b> product, number {n}.</p>",
                        f"https://shop.example.com/p/{n}",
                        f"https://cdn.example.com/{n}.jpg",
                        f"{price // 100}.{price % 100:02d} USD",
                        sale,
                        "in stock" if n % 7 else "out of stock",
                        "new",
                        f"Brand {n % 50}",
                        "",
                        "Apparel & Accessories > Shoes",
                    ]
                )
                + "\n"
            )


def _copy_baseline(db, feed: Path) -> float:
    with db.connection() as conn:
        conn.execute("CREATE TABLE plain_feed (" + ", ".join(f"{c} text" for c in COLUMNS) + ")")
        conn.commit()
        started = time.perf_counter()
        with (
            conn.cursor().copy(
                "COPY plain_feed FROM STDIN (FORMAT csv, DELIMITER E'\\t', HEADER true)"
            ) as copy,
            open(feed, "rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started


def _copy_floor(db, dump: Path) -> float:
    """Seconds to COPY the stored products (binary, from a file) into an indexed copy of
    ``products``; the dump is written first and not timed."""
    with db.connection() as conn:
        conn.execute("CREATE TABLE floor_products (LIKE products INCLUDING ALL)")
        conn.commit()
        with (
            conn.cursor().copy("COPY products TO STDOUT (FORMAT binary)") as copy,
            open(dump, "wb") as handle,
        ):
            for block in copy:
                handle.write(block)
        started = time.perf_counter()
        with (
            conn.cursor().copy("COPY floor_products FROM STDIN (FORMAT binary)") as copy,
            open(dump, "rb") as handle,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)
        conn.commit()
        return time.perf_counter() - started
