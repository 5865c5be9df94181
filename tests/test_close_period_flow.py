"""The ``close_period`` flow on Prefect's local API: close, statement and reconciliation."""

from __future__ import annotations

import json
from datetime import date

from flows.services import configure_prefect
from storage.settings import get_settings
from tests.helpers.finance import ORDER_COLUMNS, new_gmv_merchant, write_csv


def test_close_period_closes_reports_and_flags_unmatched_settlements(db, adreel_env, tmp_path):
    configure_prefect(get_settings())  # before Prefect is imported
    from attribution.imports import import_file
    from flows.finance_flow import close_period, previous_month

    with db.connection() as conn:
        merchant, (asset, _, _) = new_gmv_merchant(conn)
        m = merchant
        clicks = write_csv(
            tmp_path / "i.csv",
            "event_id,merchant_id,asset_id,kind,customer_key,occurred_at",
            [f"{m}-e1,{m},{asset},click,c,2026-09-02T10:00:00+00:00"],
        )
        orders = write_csv(
            tmp_path / "o.csv",
            ORDER_COLUMNS,
            [f"{m}-1,1,{m},2026-09-02T11:00:00+00:00,c,SKU,1,100.00,,USD,"],
        )
        import_file(conn, "interactions", clicks)
        import_file(conn, "orders", orders)
    settlements = tmp_path / "settlements" / merchant
    settlements.mkdir(parents=True)
    (settlements / "2026-09.csv").write_text(f"order_id,amount,currency\n{m}-1,99.00,USD\n")

    out = tmp_path / "statements"
    report = close_period(period="2026-09", out_dir=str(out), settlements=str(settlements.parent))
    entry = report["merchants"][merchant]
    assert entry["close"]["closed_now"] is True
    assert entry["statement"]["currencies"]["USD"]["accrued_commissions"] == "20.00"
    assert entry["reconciliation"]["ok"] is False
    assert merchant in report["unmatched"]
    assert json.loads((out / f"statement-{m}-2026-09.json").read_text())["period"] == "2026-09"
    assert (out / f"reconciliation-{m}-2026-09.html").is_file()
    again = close_period(period="2026-09", out_dir=str(out))
    assert again["merchants"][merchant]["close"]["closed_now"] is False
    assert previous_month(date(2026, 1, 15)) == "2025-12"
