"""From imported files to a closed month, as finance does it from the CLI."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal

from billing.charges import charge_accepted_material
from tests.helpers.cli import run_adreel
from tests.helpers.finance import (
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    gmv_contract,
    new_gmv_merchant,
    write_csv,
)

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Currency,Subtotal,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Lineitem sku,Lineitem discount,Note Attributes"
)


def finance(*args, env):
    return run_adreel("finance", *args, env=env)


def test_files_to_closed_month_with_statement_reconciliation_and_payouts(db, adreel_env, tmp_path):
    contract = gmv_contract(schedule="graduated", tiers=(("0", "0.15"), ("100", "0.25")))
    with db.connection() as conn:
        merchant, (a1, a2, _) = new_gmv_merchant(conn, contract, template="showcase")
        charge_accepted_material(conn, merchant, a2, "9x16", 15, date(2026, 10, 2))
        conn.commit()
    m = merchant
    interactions = write_csv(
        tmp_path / "interactions.csv",
        INTERACTION_COLUMNS,
        [
            f"{m}-e1,{m},{a1},click,ann@example.com,2026-10-05T10:00:00+02:00,CK-{m}",
            f"{m}-e2,{m},{a2},view,bob,2026-10-06T10:00:00+00:00,",
        ],
    )
    orders = write_csv(
        tmp_path / "orders.csv",
        ORDER_COLUMNS,
        [
            f"{m}-1,1,{m},2026-10-05T12:00:00+02:00,ann@example.com,SKU-1,2,30.00,,USD,",
            f"{m}-2,1,{m},2026-10-06T18:00:00+00:00,bob,SKU-2,1,50.00,10.00,USD,",
            f"{m}-3,1,{m},2026-10-07T18:00:00+00:00,nobody,SKU-2,1,80.00,,USD,",
        ],
    )
    # a Shopify export of the same merchant: two line items of one order, clicked by id
    shopify = tmp_path / "shopify.csv"
    shopify.write_text(
        SHOPIFY_HEADER + "\n"
        f"#{m}-9,Ann@Example.com,paid,USD,40.00,2026-10-08 09:00:00 +0200,1,Mug,15.00,MUG,,"
        f"adreel_click_id: CK-{m}\n"
        f"#{m}-9,,,,,,1,Cup,25.00,CUP,5.00,\n"
    )
    for kind, path in [("interactions", interactions), ("orders", orders)]:
        done = finance(f"import-{kind}", str(path), "--json", env=adreel_env)
        assert done.returncode == 0, done.stderr
    imported = finance("import-orders", str(shopify), "--merchant", m, "--json", env=adreel_env)
    assert json.loads(imported.stdout)["new"] == 2, imported.stderr
    replay = json.loads(finance("import-orders", str(orders), "--json", env=adreel_env).stdout)
    assert (replay["new"], replay["replayed"]) == (0, 3)

    # 60.00 + 40.00 + 15.00 + 20.00 = 135.00 attributed; first tier 15% per line:
    # 9.00 + 6.00 + 2.25 + 3.00 = 20.25; order 3 has no interaction
    refunds = write_csv(
        tmp_path / "refunds.csv",
        "refund_id,order_id,line_id,refunded_at,quantity",
        [f"{m}-r1,{m}-1,1,2026-10-09T00:00:00+00:00,1"],
    )  # 30.00 back: -4.50
    assert finance("import-refunds", str(refunds), env=adreel_env).returncode == 0

    contributor = finance(
        "contributor",
        "--template",
        "showcase",
        "--contributor",
        "studio-a",
        "--share",
        "0.10",
        env=adreel_env,
    )
    assert contributor.returncode == 0, contributor.stderr
    closed = finance("close", "--merchant", m, "--period", "2026-10", "--json", env=adreel_env)
    summary = json.loads(closed.stdout)["merchants"][0]
    # graduated on 135.00: 100 x 15% + 35 x 25% = 23.75, minus 20.25 accrued
    assert summary["true_up"] == {"USD": "3.50"}
    # showcase revenue: RaaS 10.00 + commission 20.25 - clawback 4.50 = 25.75 -> 2.58 (10%)
    assert summary["contributor_shares"] == {"studio-a:USD": "2.58"}

    out = tmp_path / "statement"
    statement = finance(
        "statement",
        "--merchant",
        m,
        "--period",
        "2026-10",
        "--out",
        str(out),
        "--as-of",
        "2026-10-22",
        "--json",
        env=adreel_env,
    )
    usd = json.loads(statement.stdout)["currencies"]["USD"]
    assert usd["raas_charges"] == "10.00"
    assert usd["accrued_commissions"] == "20.25"
    assert usd["clawbacks"] == "-4.50"
    assert usd["tier_true_up"] == "3.50"
    assert usd["total"] == "29.25"
    # 15-day lock on 2026-10-22: the lines of 10-05 and 10-06 are locked (and so is the
    # clawback of the first), the Shopify order of 10-08 (2.25 + 3.00) is still pending,
    # and so is the true-up until 2026-11-15 (15 days after the month's last day)
    assert usd["pending_commission"] == "8.75"
    assert usd["due_now"] == "20.50"
    assert [o["reason"] for o in json.loads(statement.stdout)["unattributed"]] == ["no interaction"]
    page = (out / f"statement-{m}-2026-10.html").read_text()
    assert "<svg" in page and "Top assets by attributed GMV" in page and "$29.25" in page
    # the printable chart: a title read out, dates on x, amounts on y, and a legend
    line = page[page.index('<svg class="chart"') : page.index("</svg>")]
    assert 'role="img"' in line and ">Daily attributed net GMV and commission, USD</title>" in line
    assert ">05 Oct</text>" in line and ">08 Oct</text>" in line and ">USD</text>" in line
    assert ">0</text>" in line and ">Net GMV</text>" in line and ">Commission</text>" in line
    assert "Product (P1)" in page  # the ads are named by their product, not their id
    rows = list(csv.DictReader((out / f"statement-{m}-2026-10.csv").open()))
    assert {r["kind"]: r["amount"] for r in rows}["total"] == "29.25"

    settlement = tmp_path / "settlement.csv"

    def reconcile():
        args = ["--merchant", m, "--period", "2026-10", "--settlement", str(settlement)]
        return finance("reconcile", *args, "--out", str(tmp_path), "--json", env=adreel_env)

    settlement.write_text(
        "order_id,line_id,amount,currency\n"
        f"{m}-1,1,30.00,USD\n"  # after the refund
        f"{m}-2,,40.00,USD\n"  # order level
        f"#{m}-9,,35.00,USD\n"
    )
    ok = reconcile()
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(ok.stdout)["totals"]["matched"]["rows"] == 3
    settlement.write_text(
        "order_id,line_id,amount,currency\n"
        f"{m}-1,1,30.02,USD\n"  # beyond the tolerance
        f"{m}-2,,40.00,USD\n"
        f"{m}-77,1,9.00,USD\n"  # unknown to adreel
    )
    bad = reconcile()
    assert bad.returncode == 3
    totals = json.loads(bad.stdout)["totals"]
    assert [
        totals[k]["rows"] for k in ("matched", "mismatched", "only_adreel", "only_settlement")
    ] == [1, 1, 2, 1]
    report = list(csv.DictReader((tmp_path / f"reconciliation-{m}-2026-10.csv").open()))
    assert {r["outcome"] for r in report} == {
        "matched",
        "mismatched",
        "only_adreel",
        "only_settlement",
    }

    payouts = json.loads(finance("payouts", "--period", "2026-10", "--json", env=adreel_env).stdout)
    studio = next(r for r in payouts["contributors"] if r["contributor"] == "studio-a")
    assert Decimal(studio["owed"]) >= Decimal("2.58")
    paid = finance(
        "payouts",
        "--period",
        "2026-10",
        "--pay",
        "studio-a",
        "--reference",
        "TX-1",
        "--json",
        env=adreel_env,
    )
    studio = [r for r in json.loads(paid.stdout)["contributors"] if r["contributor"] == "studio-a"]
    assert Decimal(studio[0]["owed"]) == 0
    assert "TX-1" in studio[0]["references"]
    again = finance("payouts", "--period", "2026-10", "--pay", "studio-a", "--reference", "TX-1",
                    env=adreel_env)  # fmt: skip
    assert again.returncode == 0 and "already paid for 2026-10 (reference TX-1" in again.stderr

    # an order of October arriving after the close accrues into November, and says so
    late_row = f"{m}-8,1,{m},2026-10-06T19:00:00+00:00,bob,SKU-2,1,10.00,,USD,"
    late = write_csv(tmp_path / "late.csv", ORDER_COLUMNS, [late_row])
    imported = finance("import-orders", str(late), env=adreel_env)
    assert f"order {m}-8 line 1: posted into 2026-11: 2026-10 is closed" in imported.stderr


def test_import_errors_name_file_row_and_field(adreel_env, tmp_path):
    path = write_csv(
        tmp_path / "fx.csv",
        "date,base,quote,rate",
        [
            "2026-10-01,USD,EUR,0.92",
            "2026-10-01,USD,USD,1",
            "2026/10/02,USD,EUR,0.91",
        ],
    )
    result = finance("import-fx", str(path), env=adreel_env)
    assert result.returncode == 1
    assert f"{path}: row 4: date: '2026/10/02' is not a date like 2026-10-03" in result.stderr
    assert "Traceback" not in result.stderr
