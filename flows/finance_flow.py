"""The ``close_period`` flow: finance's month end for every merchant, on a schedule.

For each merchant: close the month (last accruals, tier true-up, contributor shares,
then lock it), write the statement, and reconcile it when a settlement report is
waiting at ``{settlements}/{merchant}/{YYYY-MM}.csv``. Every step is idempotent, so a
failed or repeated run is simply run again. The default period is last month, which is
what a monthly schedule (``adreel serve``: the 2nd of each month, 06:00 UTC) wants.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from prefect import flow, task

from attribution.service import close_months
from billing import service as billing
from billing.periods import parse_period
from campaigns.service import asset_product_names
from storage.merchants import all_merchant_ids
from storage.services import services

CLOSE_CRON = "0 6 2 * *"
TOLERANCE = Decimal("0.01")  # a settlement differing by more than a cent does not match


def previous_month(today: date) -> str:
    return f"{today.replace(day=1) - timedelta(days=1):%Y-%m}"


@task(retries=2, retry_delay_seconds=[5, 30])
def close_merchant(merchant_id: str, period: str) -> dict:
    (closed,) = close_months(services().db, period, merchant_id)
    return closed.as_dict()


@task
def statement(merchant_id: str, period: str, out_dir: str) -> dict:
    names = asset_product_names(services(), merchant_id)  # the HTML names ads by product
    built, _ = billing.statement(
        services().db, merchant_id, period, date.today(), Path(out_dir), names
    )
    return built.as_dict()


@task
def reconciliation(merchant_id: str, period: str, settlement: str, out_dir: str) -> dict:
    result, _ = billing.reconcile_settlement(
        services().db, merchant_id, period, Path(settlement), TOLERANCE, Path(out_dir)
    )
    return result.as_dict()


@flow(name="close-period")
def close_period(
    period: str | None = None, out_dir: str = "statements", settlements: str | None = None
) -> dict:
    """Close ``period`` (default: last month) for every merchant and report on it."""
    period = period or previous_month(date.today())
    parse_period(period)
    merchants = all_merchant_ids(services().db)
    report: dict = {"period": period, "merchants": {}}
    for merchant_id in merchants:
        # 1. Close first: the statement and reconciliation read the closed month.
        closed = close_merchant(merchant_id, period)
        entry = {"close": closed, "statement": statement(merchant_id, period, out_dir)}
        # 2. Reconcile when the outside world has reported on this merchant's month.
        settlement = Path(settlements or "", merchant_id, f"{period}.csv")
        if settlements and settlement.is_file():
            entry["reconciliation"] = reconciliation(merchant_id, period, str(settlement), out_dir)
        report["merchants"][merchant_id] = entry
    report["unmatched"] = sorted(
        m for m, e in report["merchants"].items() if not e.get("reconciliation", {"ok": True})["ok"]
    )
    return report
