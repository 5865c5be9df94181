"""Monthly periods: once closed, nothing can be posted into them."""

from __future__ import annotations

import re
from datetime import date

import psycopg

from billing.errors import LedgerError
from billing.queries import query

_PERIOD = re.compile(r"^([1-9]\d{3})-(0[1-9]|1[0-2])$")  # year 0 is not a date


def parse_period(text: str) -> date:
    match = _PERIOD.match(text)
    if not match:
        raise LedgerError(f"period {text!r} must look like YYYY-MM, e.g. 2026-10")
    return date(int(match[1]), int(match[2]), 1)


def close_period(conn: psycopg.Connection, merchant_ids: list[str], period: date) -> list[str]:
    """Close ``period`` for the merchants; return those closed now (others were already)."""
    rows = conn.execute(query("close_periods"), {"merchant_ids": merchant_ids, "period": period})
    return sorted(row["merchant_id"] for row in rows)
