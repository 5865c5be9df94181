"""Catalog uploads in PostgreSQL: staging by COPY, a set-based upsert, versions, quarantine.

Everything for one upload runs in one transaction under a per-merchant lock: two uploads
for a merchant are serialised, and a failure leaves nothing behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from catalog.queries import query

if TYPE_CHECKING:  # pandas costs a quarter second to import; listings do not need it
    import pandas as pd

# What a product stores, in ``products``' terms; normalising fills every one of these.
STORED = [
    "product_id",
    "title",
    "description",
    "description_html",
    "link",
    "image_link",
    "additional_image_links",
    "price",
    "currency",
    "sale_price",
    "availability",
    "condition",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "product_category",
    "product_type",
    "custom_labels",
    "attributes",
    "content_hash",
]
# The merchant's own values, kept where normalising changes them (for the rejected CSV).
GIVEN = ["description", "price", "sale_price", "availability", "condition", "gtin"]
# One staging row, in the column order of ``copy_catalog_staging``.
STAGING_COLUMNS = [
    "row_number",
    *STORED,
    "image_key",
    "image_status",
    "accepted",
    *(f"given_{column}" for column in GIVEN),
    "additional_image_keys",
]
_NOT_TEXT = {"row_number": "int64", "accepted": "bool"}


def begin_upload(conn: psycopg.Connection, merchant_id: str) -> dict[str, Any] | None:
    """Take the merchant's upload lock and create the staging table; return the latest version."""
    conn.execute(query("lock_merchant_catalog"), {"merchant_id": merchant_id})
    conn.execute(query("create_catalog_staging"))
    return conn.execute(query("latest_upload"), {"merchant_id": merchant_id}).fetchone()


def staging_csv(rows: pd.DataFrame) -> memoryview:
    """A chunk's staging rows as the CSV ``copy_catalog_staging`` reads.

    Arrow's C++ CSV writer renders the chunk (quoted text, unquoted empty for NULL: the
    CSV PostgreSQL reads); pandas' ``to_csv`` took a fifth of an upload's time.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    table = pa.table({column: _arrow(rows[column]) for column in STAGING_COLUMNS})
    buffer = io.BytesIO()
    pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getbuffer()


def copy_staging(conn: psycopg.Connection, csv: memoryview) -> None:
    """COPY a chunk's ``staging_csv`` into the staging table."""
    with conn.cursor().copy(query("copy_catalog_staging")) as copy:
        copy.write(csv)


def _arrow(column: pd.Series):
    """A staging column as Arrow; pandas' Arrow-backed ``str`` columns without a copy."""
    import pyarrow as pa

    if column.dtype == "str":
        values = pa.array(column.array)
        return pa.concat_arrays(values.chunks) if isinstance(values, pa.ChunkedArray) else values
    return pa.array(
        column.to_numpy(), type=_NOT_TEXT.get(column.name, pa.string()), from_pandas=True
    )


def quarantine(
    conn: psycopg.Connection, merchant_id: str, version: int, rows: Iterable[tuple]
) -> None:
    """Rows of (row_number, product_id, rule, field, value)."""
    with conn.cursor().copy(query("copy_quarantine")) as copy:
        for row in rows:
            copy.write_row((merchant_id, version, *row))


def keep_rejected_rows(
    conn: psycopg.Connection, merchant_id: str, version: int, records: Iterable[tuple[int, dict]]
) -> None:
    """Rows of (row_number, canonical record as the merchant wrote it)."""
    with conn.cursor().copy(query("copy_rejected_rows")) as copy:
        for row_number, record in records:
            copy.write_row((merchant_id, version, row_number, Jsonb(record)))


def apply_upload(
    conn: psycopg.Connection,
    merchant_id: str,
    version: int,
    remove_unlisted: bool,
    ids_may_repeat: bool = True,
) -> dict[str, int]:
    """Collapse identical rows, quarantine ids listed with different content, upsert
    accepted rows and (a full catalog) mark unlisted products removed.

    ``ids_may_repeat=False`` (no product id occurs twice in the file, as the caller found
    while staging) skips the two duplicate checks, which would find nothing.
    """
    params = {"merchant_id": merchant_id, "version": version}
    conn.execute(query("index_catalog_staging"))
    conn.execute(query("analyze_catalog_staging"))
    removed = 0
    if remove_unlisted:  # first: it then reads only the products there were before
        removed = conn.execute(query("mark_removed_products"), params).fetchone()["removed"]
    collapsed = duplicates = 0
    if ids_may_repeat:
        collapsed = conn.execute(query("collapse_identical_duplicates")).fetchone()["collapsed"]
        duplicates = len(conn.execute(query("quarantine_duplicate_ids"), params).fetchall())
        conn.execute(query("keep_duplicate_rows"), params)
    updated = conn.execute(query("update_staged_products"), params).fetchone()["updated"]
    created = conn.execute(query("insert_staged_products"), params).fetchone()["created"]
    return {
        "duplicates_collapsed": collapsed,
        "duplicate_rows": duplicates,
        "created": created,
        "updated": updated,
        "removed": removed,
    }


def accepted_count(conn: psycopg.Connection) -> int:
    return conn.execute(query("count_accepted_staging")).fetchone()["accepted"]


def record_upload(conn: psycopg.Connection, upload: dict[str, Any]) -> None:
    conn.execute(
        query("insert_catalog_upload"), {**upload, "rule_counts": Jsonb(upload["rule_counts"])}
    )


def get_upload(conn: psycopg.Connection, merchant_id: str, version: int | None) -> dict | None:
    if version is None:
        return conn.execute(query("latest_upload"), {"merchant_id": merchant_id}).fetchone()
    return conn.execute(
        query("get_upload"), {"merchant_id": merchant_id, "version": version}
    ).fetchone()


def quarantined_rows(conn: psycopg.Connection, merchant_id: str, version: int) -> list[dict]:
    return conn.execute(
        query("quarantined_rows"), {"merchant_id": merchant_id, "version": version}
    ).fetchall()


def rejected_rows(conn: psycopg.Connection, merchant_id: str, version: int) -> list[dict]:
    return conn.execute(
        query("rejected_rows"), {"merchant_id": merchant_id, "version": version}
    ).fetchall()


def rule_examples(
    conn: psycopg.Connection, merchant_id: str, version: int, examples: int = 10
) -> list[dict]:
    params = {"merchant_id": merchant_id, "version": version, "examples": examples}
    return conn.execute(query("rule_examples"), params).fetchall()
