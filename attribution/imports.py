"""Import finance files, then attribute and accrue what they make possible.

Each import is one transaction: the file is validated (row by row, then against the
database), new rows are inserted (a replay inserts nothing), and the attribution and
commission pass runs for the merchants the file touched, so a line's commission is
posted as soon as everything it needs (the order, its interactions, a contract, an FX
rate) has arrived, whatever the order the files came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa

from attribution.commissions import Accrual, accrue
from attribution.errors import wrap_exceptions
from attribution.feeds import FX_RATES, INTERACTIONS, ORDERS, REFUNDS
from attribution.queries import query
from attribution.shopify import is_shopify_export, read_shopify_orders
from attribution.staging import Staged, insert_staged, stage, staged_errors
from billing.feeds import MAX_ERRORS, FeedError, RowError, read_feed

SPECS = {"interactions": INTERACTIONS, "orders": ORDERS, "refunds": REFUNDS, "fx": FX_RATES}


@dataclass(frozen=True)
class ImportResult:
    kind: str
    file: str
    rows: int
    new: int
    accrual: Accrual

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "new": self.new,
            "replayed": self.rows - self.new,
            **self.accrual.as_dict(),
        }


def import_file(
    conn: psycopg.Connection, kind: str, path: Path, merchant_id: str | None = None
) -> ImportResult:
    """Import one file of ``kind`` (interactions, orders, refunds, fx) whole or not at all.

    ``merchant_id`` is needed only for a Shopify orders export, which does not name it.
    """
    spec = SPECS[kind]
    if kind == "orders" and is_shopify_export(path):
        feed = read_shopify_orders(path, merchant_id)
    else:
        feed = read_feed(path, spec)
    staged = Staged(kind, _numbered(feed.table, feed.first_row), feed.rows)
    with wrap_exceptions(str(path)), conn.transaction():
        conn.execute(query("import_memory"))
        stage(conn, staged)
        refused = staged_errors(conn, kind, MAX_ERRORS + 1)
        if refused:
            errors = [RowError(str(path), r["row_no"], r["field"], r["problem"]) for r in refused]
            raise FeedError(errors[:MAX_ERRORS], max(0, len(errors) - MAX_ERRORS))
        imported = insert_staged(conn, staged)
        merchants = list(imported.merchants) if kind != "fx" else _merchants_waiting(conn)
        new_lines = kind == "orders" and imported.new > 0  # waiting in new_order_lines
        accrual = accrue(conn, merchants, new_lines) if imported.new else Accrual()
    return ImportResult(kind, str(path), imported.rows, imported.new, accrual)


def _numbered(table: pa.Table, first_row: int) -> pa.Table:
    numbers = pa.array(range(first_row, first_row + table.num_rows), pa.int32())
    return table.add_column(0, "row_no", numbers)


def _merchants_waiting(conn: psycopg.Connection) -> list[str]:
    """New FX rates can release lines of any merchant waiting for one."""
    return [row["merchant_id"] for row in conn.execute(query("merchants_with_open_lines"))]
