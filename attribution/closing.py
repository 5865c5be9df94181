"""Closing a merchant's month: the last accruals, then billing closes the books.

Both run in one transaction under the merchant's close lock, so an import cannot slip
a line in between accruing and closing; running the close again posts nothing.
"""

from __future__ import annotations

from datetime import date

import psycopg

from attribution.commissions import accrue
from attribution.queries import query
from billing.closing import MonthClose, close_books, is_closed


def close_month(conn: psycopg.Connection, merchant_id: str, period: date) -> MonthClose:
    """Accrue, true up, share with contributors and close ``period`` for one merchant."""
    with conn.transaction():
        conn.execute(query("lock_merchant_close"), {"merchant_id": merchant_id})
        if is_closed(conn, merchant_id, period):
            return MonthClose(merchant_id, period)
        accrue(conn, [merchant_id])
        return close_books(conn, merchant_id, period)
