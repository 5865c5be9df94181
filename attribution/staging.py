"""Finance files into PostgreSQL: COPY into a scratch table, check in SQL, insert new rows.

The checks that need the database (unknown merchant, another merchant's asset, an id
seen before with other content, refunds beyond what was bought) run as one query over
the staged rows, so a file is judged whole before anything is written. Everything for
one file happens in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pyarrow as pa
from psycopg.copy import QueuedLibpqWriter

from attribution.queries import query
from billing.feeds import to_csv_bytes

CHUNK_ROWS = 65_536  # rows written as CSV and sent per COPY message


@dataclass(frozen=True)
class Staged:
    """A file's rows, ready to COPY: typed columns with a leading row number."""

    kind: str  # interactions | orders | refunds | fx
    table: pa.Table
    rows: int


@dataclass(frozen=True)
class Imported:
    rows: int
    new: int
    merchants: tuple[str, ...]  # merchants with new rows, for the attribution pass


def stage(conn: psycopg.Connection, staged: Staged) -> None:
    """COPY the file into its scratch table, then analyse it: a scratch table is never
    analysed, and without statistics the planner guessed a third of the rows and chose
    sorts that spill to disk (the checks took twice as long). The ANALYZE is a statement
    of its own so that the planner sees it."""
    conn.execute(query(f"create_{staged.kind}_staging"))
    cursor = conn.cursor()
    # a thread sends each chunk while the next one is written as CSV (Arrow's writer
    # releases the GIL), and PostgreSQL parses as the chunks arrive: the three overlap
    # instead of the whole file being written out before the COPY starts
    writer = QueuedLibpqWriter(cursor)
    with cursor.copy(f"COPY stage_{staged.kind} FROM STDIN (FORMAT csv)", writer=writer) as copy:
        for chunk in staged.table.to_batches(max_chunksize=CHUNK_ROWS):
            copy.write(to_csv_bytes(pa.Table.from_batches([chunk])))
    conn.execute(f"ANALYZE pg_temp.stage_{staged.kind}")


def staged_errors(conn: psycopg.Connection, kind: str, limit: int) -> list[dict]:
    """Rows of the staged file the database refuses: row number, field, problem."""
    return conn.execute(query(f"{kind}_errors"), {"limit": limit}).fetchall()


def insert_staged(conn: psycopg.Connection, staged: Staged) -> Imported:
    """Insert the new rows; FX rates belong to no merchant (their merchant_id is NULL).

    New order lines are set aside in ``new_order_lines`` instead: the attribution pass
    (``accrue(..., new_lines=True)``) inserts them with the state it decides for them.
    """
    if staged.kind == "orders":
        conn.execute(query("no_new_order_lines"))
        conn.execute(query("set_aside_new_order_lines"))
        conn.execute(query("analyze_new_order_lines"))
        rows = conn.execute(query("new_order_lines_by_merchant")).fetchall()
    elif staged.kind == "interactions":
        rows = _insert_interactions(conn)
    else:
        rows = conn.execute(query(f"insert_staged_{staged.kind}")).fetchall()
    by_merchant = {row["merchant_id"]: row["new"] for row in rows}
    merchants = tuple(sorted(m for m in by_merchant if m is not None))
    return Imported(staged.rows, sum(by_merchant.values()), merchants)


def _insert_interactions(conn: psycopg.Connection) -> list[dict]:
    """New events per merchant. A plain insert first (the file's events are usually all
    new, and ON CONFLICT's per-row check and speculative insertion cost up to twice as
    much); if any event is already there or repeated in the file, its unique violation
    rolls the savepoint back and the insert that skips known events runs instead."""
    try:
        with conn.transaction():
            conn.execute(query("insert_new_interactions"))
    except psycopg.errors.UniqueViolation:
        return conn.execute(query("insert_staged_interactions")).fetchall()
    return conn.execute(query("staged_interactions_by_merchant")).fetchall()
