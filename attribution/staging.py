"""Finance files into PostgreSQL: COPY into a scratch table, check in SQL, insert new rows.

The checks that need the database (unknown merchant, another merchant's asset, an id
seen before with other content, refunds beyond what was bought) run as one query over
the staged rows, so a file is judged whole before anything is written. Everything for
one file happens in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from attribution.queries import query


@dataclass(frozen=True)
class Staged:
    """A file's rows, ready to COPY: headerless CSV with a leading row number."""

    kind: str  # interactions | orders | refunds | fx
    csv: bytes
    rows: int


@dataclass(frozen=True)
class Imported:
    rows: int
    new: int
    merchants: tuple[str, ...]  # merchants with new rows, for the attribution pass


def stage(conn: psycopg.Connection, staged: Staged) -> None:
    conn.execute(query(f"create_{staged.kind}_staging"))
    with conn.cursor().copy(f"COPY stage_{staged.kind} FROM STDIN (FORMAT csv)") as copy:
        copy.write(staged.csv)


def staged_errors(conn: psycopg.Connection, kind: str, limit: int) -> list[dict]:
    """Rows of the staged file the database refuses: row number, field, problem."""
    return conn.execute(query(f"{kind}_errors"), {"limit": limit}).fetchall()


def insert_staged(conn: psycopg.Connection, staged: Staged) -> Imported:
    """Insert the new rows; FX rates belong to no merchant (their merchant_id is NULL)."""
    by_merchant = {
        row["merchant_id"]: row["new"]
        for row in conn.execute(query(f"insert_staged_{staged.kind}"))
    }
    merchants = tuple(sorted(m for m in by_merchant if m is not None))
    return Imported(staged.rows, sum(by_merchant.values()), merchants)
