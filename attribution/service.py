"""What finance does with attribution, one function per operation (CLI, flows, API).

Each takes plain values and the database and owns its transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from attribution.closing import close_month
from attribution.imports import ImportResult, import_file
from billing.closing import MonthClose, last_day
from billing.errors import LedgerError
from billing.periods import parse_period
from storage.db import Database
from storage.merchants import list_merchant_ids, require_merchant
from storage.webhooks import queue_event


def import_feed(
    db: Database, kind: str, path: Path, merchant_id: str | None = None
) -> ImportResult:
    """Import one finance file whole or not at all, then attribute and accrue what it
    made possible. ``merchant_id`` only for a Shopify orders export (it does not say)."""
    with db.connection() as conn:
        return import_file(conn, kind, path, merchant_id)


def close_months(
    db: Database,
    period: str,
    merchant_id: str | None = None,
    early: bool = False,
    today: date | None = None,
) -> list[MonthClose]:
    """Close ``period`` (YYYY-MM) for one merchant or every merchant; a closed month is
    left as it is (``closed_now`` False). A month that has not ended (UTC) is refused
    unless ``early``: its remaining events would all post into the next month."""
    month = parse_period(period)
    today = today or datetime.now(UTC).date()
    if not early and last_day(month) >= today:
        raise LedgerError(
            f"{period} has not ended (its last day is {last_day(month)}); closing it now "
            "would post the rest of its orders and refunds into the next month: "
            "use --early to close it anyway"
        )
    with db.connection() as conn:
        if merchant_id:
            require_merchant(conn, merchant_id)  # an unknown one: 404, not a refused row
        merchants = [merchant_id] if merchant_id else list_merchant_ids(conn)
        results = [close_month(conn, m, month) for m in merchants]
        for closed in results:
            if closed.closed_now:  # webhooks, committed with the close (CLI, API, flow)
                queue_event(conn, closed.merchant_id, "period.closed", period, {"period": period})
        return results
