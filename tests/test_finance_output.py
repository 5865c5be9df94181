"""What finance reads: bad rows listed, unattributed orders with reasons, reconciliation
in minor units with a refund cut-off, early closes refused, payouts replayed."""

from __future__ import annotations

import csv
import uuid
from datetime import date
from decimal import Decimal

import pytest

from attribution.imports import import_file
from attribution.service import close_months
from billing import service as billing
from billing.charges import charge_accepted_material
from billing.errors import LedgerError
from billing.feeds import FeedError
from tests.helpers.cli import run_adreel
from tests.helpers.finance import (
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    new_gmv_merchant,
    write_csv,
)


def test_every_bad_row_is_listed_under_one_headline(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    m = merchant
    path = write_csv(tmp_path / "clicks.csv", INTERACTION_COLUMNS, [
        f"{m}-e1,{m},{a1},click,c,2026-10-10T08:00:00+00:00,",
        f"{m}-e2,nobody-{m},{a1},click,c,2026-10-10T08:00:00+00:00,",
        f"{m}-e3,{m},{a1},click,c,2026-10-10T08:00:00+00:00,",
        f"{m}-e4,nobody-{m},{a1},click,c,2026-10-10T08:00:00+00:00,",
        f"{m}-e5,nobody-{m},{a1},view,c,2026-10-10T08:00:00+00:00,",
    ])  # fmt: skip
    with pytest.raises(FeedError) as refused:
        import_file(conn, "interactions", path)
    conn.rollback()
    assert str(refused.value).splitlines() == [
        f"{path}: 3 bad rows; nothing was imported",
        f"  row 3: merchant_id: no merchant nobody-{m}",
        f"  row 5: merchant_id: no merchant nobody-{m}",
        f"  row 6: merchant_id: no merchant nobody-{m}",
    ]


def test_unattributed_orders_of_a_month_say_why(db, tmp_path):
    with db.connection() as conn:
        merchant, (a1, _, _) = new_gmv_merchant(conn)
        m = merchant
        import_file(conn, "interactions", write_csv(tmp_path / "i.csv", INTERACTION_COLUMNS, [
            f"{m}-e1,{m},{a1},click,old,2026-10-01T08:00:00+00:00,",
            f"{m}-e2,{m},{a1},view,viewer,2026-10-08T08:00:00+00:00,",
            f"{m}-e3,{m},{a1},click,late,2026-10-10T13:00:00+00:00,",
        ]))  # fmt: skip
        orders = [
            ("1", "old", ""),
            ("2", "viewer", ""),
            ("3", "late", ""),
            ("4", "nobody", "CK-none"),
            ("5", "nobody", ""),
        ]
        rows = [
            f"{m}-{n},1,{m},2026-10-10T12:00:00+00:00,{c},SKU,1,10.00,,USD,{ck}"
            for n, c, ck in orders
        ]
        import_file(conn, "orders", write_csv(tmp_path / "o.csv", ORDER_COLUMNS, rows))
        conn.commit()
    found = billing.unattributed(db, merchant, "2026-10")
    assert [(o["order_id"], o["reason"]) for o in found] == [
        (f"{m}-1", "outside the click window"),
        (f"{m}-2", "outside the view window"),
        (f"{m}-3", "interactions only after the order"),
        (f"{m}-4", "click_id CK-none names no click of this merchant"),
        (f"{m}-5", "no interaction"),
    ]
    assert found[0]["net"] == Decimal("10.00")
    statement, _ = billing.statement(db, merchant, "2026-10", date(2026, 11, 1), tmp_path)
    assert len(statement.as_dict()["unattributed"]) == 5


def test_reconciliation_in_minor_units_with_refunds_up_to_the_month_end(db, tmp_path):
    with db.connection() as conn:
        merchant, (a1, _, _) = new_gmv_merchant(conn)
        m = merchant
        import_file(conn, "interactions", write_csv(tmp_path / "i.csv", INTERACTION_COLUMNS, [
            f"{m}-e1,{m},{a1},click,c,2026-10-18T08:00:00+00:00,",
        ]))  # fmt: skip
        import_file(conn, "orders", write_csv(tmp_path / "o.csv", ORDER_COLUMNS, [
            f"{m}-1,1,{m},2026-10-20T12:00:00+00:00,c,SKU,3,20.00,,USD,",
            f"{m}-2,1,{m},2026-10-20T12:00:00+00:00,c,SKU,3,3.37,0.01,USD,",
        ]))  # fmt: skip
        refunds = write_csv(tmp_path / "r.csv", "refund_id,order_id,line_id,refunded_at,quantity", [
            f"{m}-r1,{m}-1,1,2026-10-28T10:00:00+00:00,1",
            f"{m}-r2,{m}-1,1,2026-11-03T10:00:00+00:00,1",
            f"{m}-r3,{m}-2,1,2026-10-28T10:00:00+00:00,1",
        ])  # fmt: skip
        import_file(conn, "refunds", refunds)
        conn.commit()
    settlement = tmp_path / "settlement.csv"
    settlement.write_text(f"order_id,line_id,amount,currency\n{m}-1,1,40.0,USD\n{m}-2,1,6.70,USD\n")
    result, paths = billing.reconcile_settlement(
        db, merchant, "2026-10", settlement, Decimal("0.01"), tmp_path
    )
    # order 1: 60.00 less the October refund only; order 2: 10.10 x 2/3 = 6.7333.. -> 6.73
    rows = {r["order_id"]: r for r in result.as_dict()["rows"]}
    assert (rows[f"{m}-1"]["adreel_amount"], rows[f"{m}-1"]["settlement_amount"]) == (
        "40.00",
        "40.00",
    )
    assert (rows[f"{m}-2"]["adreel_amount"], rows[f"{m}-2"]["difference"]) == ("6.73", "0.03")
    assert result.as_dict()["totals"]["matched"]["adreel"] == {"USD": "40.00"}
    written = list(csv.DictReader(paths["csv"].open()))
    assert {r["adreel_amount"] for r in written} == {"40.00", "6.73"}
    page = paths["html"].read_text()
    assert "<th class=n>Difference</th>" in page and "$0.03" in page
    later, _ = billing.reconcile_settlement(
        db, merchant, "2026-10", settlement, Decimal("0.01"), tmp_path, date(2026, 11, 30)
    )
    assert {r["order_id"]: r["adreel_amount"] for r in later.as_dict()["rows"]}[f"{m}-1"] == (
        "20.00"
    )


def test_a_month_that_has_not_ended_closes_only_early(db):
    with db.connection() as conn:
        merchant, _ = new_gmv_merchant(conn)
    with pytest.raises(LedgerError, match=r"2026-12 has not ended .*use --early"):
        close_months(db, "2026-12", merchant, today=date(2026, 12, 31))
    (closed,) = close_months(db, "2026-12", merchant, early=True, today=date(2026, 12, 31))
    assert closed.closed_now
    (after,) = close_months(db, "2026-11", merchant, today=date(2026, 12, 1))
    assert after.closed_now


def test_a_second_payout_with_the_same_reference_says_it_was_already_paid(db):
    template = f"tpl-{uuid.uuid4().hex[:8]}"
    contributor = f"studio-{uuid.uuid4().hex[:8]}"
    billing.set_template_contributor(db, template, contributor, Decimal("0.10"))
    with db.connection() as conn:
        merchant, (a1, _, _) = new_gmv_merchant(conn, template=template)
        charge_accepted_material(conn, merchant, a1, "9x16", 15, date(2026, 9, 2))
        conn.commit()
    close_months(db, "2026-09", merchant)
    first = billing.payouts(db, "2026-09", contributor, "TX-9")
    assert (first.paid, first.already_paid) == (Decimal("1.00"), None)
    again = billing.payouts(db, "2026-09", contributor, "TX-9")
    assert (again.paid, again.already_paid) == (Decimal(0), ["TX-9"])


def test_statement_of_an_unknown_merchant_is_one_line(adreel_env, tmp_path):
    result = run_adreel(
        "finance", "statement", "--merchant", "nobody-at-all", "--period", "2026-10",
        "--out", str(tmp_path), env=adreel_env,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "adreel: no merchant 'nobody-at-all'; upload its catalog first"
    )


def test_the_printable_statement_charts_each_currency_with_dates_axes_and_names(tmp_path):
    """The HTML that `adreel finance statement` writes (and the console's print view
    opens): per currency, GMV and commission by day with dates on x and amounts on y, GMV
    by asset under the product names the caller gives, each captioned and with a legend."""
    from billing.reports import write_statement
    from billing.statements import Statement

    def line(day, asset, currency, gmv):
        return {
            "day": date(2026, 10, day),
            "asset_id": asset,
            "currency": currency,
            "net_gmv": Decimal(gmv),
            "commission": Decimal(gmv) * Decimal("0.15"),
        }

    daily = [line(5, 7, "USD", "60.00"), line(9, 8, "USD", "40.00"), line(20, 7, "EUR", "900")]
    statement = Statement("m-print", date(2026, 10, 1), date(2026, 11, 20), daily=daily)
    page = write_statement(statement, tmp_path, {7: "Trail Boot (TS-1)"})["html"].read_text()
    charts = page.split('<svg class="chart"')[1:]
    assert len(charts) == 4  # a line and a bar chart per currency, EUR first
    assert ">Daily attributed net GMV and commission, EUR</title>" in charts[0]
    assert ">20 Oct</text>" in charts[0] and ">05 Oct</text>" not in charts[0]
    usd = charts[2]
    assert ">Daily attributed net GMV and commission, USD</title>" in usd
    assert ">05 Oct</text>" in usd and ">09 Oct</text>" in usd  # dates on x
    assert ">0</text>" in usd and ">60</text>" in usd and ">USD</text>" in usd  # y ticks, unit
    assert ">Net GMV</text>" in usd and ">Commission</text>" in usd  # the legend
    assert "Net GMV: 60.00 at 05 Oct, 40.00 at 09 Oct (2 points)" in usd  # the <desc>
    assert ">Trail Boot (TS-1)</text>" in charts[3] and ">asset 8</text>" in charts[3]
    assert "<figcaption>Attributed net GMV by asset, USD</figcaption>" in page
    assert "<td>Trail Boot (TS-1)</td>" in page  # the top assets table names it too
