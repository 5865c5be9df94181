"""Attribution and commission rules, each with exact values (README "Attribution")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from attribution.closing import close_month
from attribution.commissions import late_text
from attribution.imports import import_file
from billing.feeds import FeedError
from billing.statements import build_statement
from tests.helpers.finance import (
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    gmv_contract,
    new_gmv_merchant,
    write_csv,
)

ORDER_AT = "2026-10-10T12:00:00+00:00"


def interactions(tmp_path, merchant, rows, name="interactions.csv"):
    lines = [f"{e},{merchant},{a},{k},{c},{t},{cid}" for e, a, k, c, t, cid in rows]
    return write_csv(tmp_path / name, INTERACTION_COLUMNS, lines)


def orders(tmp_path, merchant, rows, name="orders.csv"):
    lines = [
        f"{o},{ln},{merchant},{t},{c},SKU,{q},{p},{d},{ccy},{cid}"
        for o, ln, t, c, q, p, d, ccy, cid in rows
    ]
    return write_csv(tmp_path / name, ORDER_COLUMNS, lines)


def import_interactions(conn, tmp_path, merchant, rows):
    return import_file(conn, "interactions", interactions(tmp_path, merchant, rows))


def import_orders(conn, tmp_path, merchant, rows):
    return import_file(conn, "orders", orders(tmp_path, merchant, rows))


def line(conn, order_id, line_id="1") -> dict:
    return conn.execute(
        "SELECT * FROM order_lines WHERE order_id = %s AND line_id = %s", (order_id, line_id)
    ).fetchone()


def attributed(conn, order_id) -> dict | None:
    return conn.execute(
        "SELECT asset_id, rule, event_id FROM order_attributions WHERE order_id = %s", (order_id,)
    ).fetchone()


def receivable(conn, merchant, currency="USD") -> Decimal:
    row = conn.execute(
        "SELECT balance FROM ledger_accounts WHERE merchant_id = %s AND kind = 'receivable' "
        "AND asset = %s",
        (merchant, currency),
    ).fetchone()
    return -row["balance"] if row else Decimal(0)


def test_rules_in_order_click_id_then_click_then_view(conn, tmp_path):
    merchant, (a1, a2, a3) = new_gmv_merchant(conn)
    o = merchant  # order ids are global: prefix them with the merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "alice", "2026-10-01T09:00:00+00:00", "CLK1"),
            (f"{o}-e2", a2, "click", "alice", "2026-10-10T11:00:00+00:00", ""),
            (f"{o}-e3", a3, "view", "alice", "2026-10-10T11:59:00+00:00", ""),
            (f"{o}-e4", a3, "view", "bob", "2026-10-10T11:00:00+00:00", ""),
            (f"{o}-e5", a1, "click", "bob", "2026-10-10T12:00:01+00:00", ""),  # after the order
        ],
    )
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            # the order's click_id wins over Alice's newer click
            (f"{o}-A", 1, ORDER_AT, "alice", 1, "10.00", "", "USD", "CLK1"),
            # no click_id: Alice's latest click beats her even newer view
            (f"{o}-B", 1, ORDER_AT, "alice", 1, "10.00", "", "USD", ""),
            # Bob never clicked before ordering: his view counts; the later click does not
            (f"{o}-C", 1, ORDER_AT, "bob", 1, "10.00", "", "USD", ""),
            # nobody interacted
            (f"{o}-D", 1, ORDER_AT, "carol", 1, "10.00", "", "USD", ""),
        ],
    )
    assert attributed(conn, f"{o}-A") == {"asset_id": a1, "rule": "click_id", "event_id": f"{o}-e1"}
    assert attributed(conn, f"{o}-B") == {"asset_id": a2, "rule": "click", "event_id": f"{o}-e2"}
    assert attributed(conn, f"{o}-C") == {"asset_id": a3, "rule": "view", "event_id": f"{o}-e4"}
    assert attributed(conn, f"{o}-D") is None
    assert line(conn, f"{o}-D")["status"] == "unattributed"


def test_windows_include_their_edges_and_ties_go_to_the_larger_event_id(conn, tmp_path):
    merchant, (a1, a2, a3) = new_gmv_merchant(conn)  # click window 7 days, view 1 day
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            # exactly 7 days before: inside the click window
            (f"{o}-1", a1, "click", "edge", "2026-10-03T12:00:00+00:00", ""),
            # one second beyond 7 days: outside; the 1-day view then decides nothing either
            (f"{o}-2", a1, "click", "late", "2026-10-03T11:59:59+00:00", ""),
            # exactly 1 day before: inside the view window
            (f"{o}-3", a2, "view", "viewer", "2026-10-09T12:00:00+00:00", ""),
            # same instant, two clicks: the larger event id wins (9 < 10 as numbers)
            (f"{o}-9", a2, "click", "tie", "2026-10-10T10:00:00+00:00", ""),
            (f"{o}-10", a3, "click", "tie", "2026-10-10T10:00:00+00:00", ""),
            # at the order's own instant: counts (only later interactions never count)
            (f"{o}-4", a3, "click", "same", "2026-10-10T12:00:00+00:00", ""),
        ],
    )
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-edge", 1, ORDER_AT, "edge", 1, "10.00", "", "USD", ""),
            (f"{o}-late", 1, ORDER_AT, "late", 1, "10.00", "", "USD", ""),
            (f"{o}-viewer", 1, ORDER_AT, "viewer", 1, "10.00", "", "USD", ""),
            (f"{o}-tie", 1, ORDER_AT, "tie", 1, "10.00", "", "USD", ""),
            (f"{o}-same", 1, "2026-10-10T14:00:00+02:00", "same", 1, "10.00", "", "USD", ""),
        ],
    )
    assert attributed(conn, f"{o}-edge")["asset_id"] == a1
    assert attributed(conn, f"{o}-late") is None
    assert attributed(conn, f"{o}-viewer")["asset_id"] == a2
    assert attributed(conn, f"{o}-tie") == {"asset_id": a3, "rule": "click", "event_id": f"{o}-10"}
    assert attributed(conn, f"{o}-same")["asset_id"] == a3


def test_commission_is_first_tier_rate_rounded_half_even_per_line(conn, tmp_path):
    contract = gmv_contract(schedule="volume", tiers=(("0", "0.15"), ("1000", "0.25")))
    merchant, (a1, _, _) = new_gmv_merchant(conn, contract)
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
        ],
    )
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            # 10.30 x 0.15 = 1.545 -> 1.54 (half-even; half-up would give 1.55)
            (f"{o}-1", 1, ORDER_AT, "c", 1, "10.30", "", "USD", ""),
            # 3 x 19.99 - 5.00 = 54.97; x 0.15 = 8.2455 -> 8.25
            (f"{o}-1", 2, ORDER_AT, "c", 3, "19.99", "5.00", "USD", ""),
        ],
    )
    assert line(conn, f"{o}-1", "1")["commission"] == Decimal("1.54")
    assert line(conn, f"{o}-1", "2")["net_gmv"] == Decimal("54.97")
    assert line(conn, f"{o}-1", "2")["commission"] == Decimal("8.25")
    assert receivable(conn, merchant) == Decimal("9.79")


def test_foreign_currency_waits_for_its_rate_then_converts(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn, gmv_contract(currency="JPY"))
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "c", "2026-10-09T23:00:00-05:00", ""),
        ],
    )
    # 23:30 on the 9th in New York is the 10th in UTC: the rate of 2026-10-10 applies
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-1", 1, "2026-10-09T23:30:00-05:00", "c", 1, "19.99", "", "USD", ""),
            (f"{o}-2", 1, "2026-10-09T23:30:00-05:00", "c", 1, "20.00", "", "EUR", ""),
        ],
    )
    waiting = line(conn, f"{o}-1")
    assert (waiting["status"], waiting["reason"]) == (
        "waiting",
        "no FX rate USD->JPY for 2026-10-10",
    )
    fx = write_csv(
        tmp_path / "fx.csv",
        "date,base,quote,rate",
        [
            "2026-10-09,USD,JPY,140.00",
            "2026-10-10,USD,JPY,151.37",
            "2026-10-10,JPY,EUR,0.005",  # only the opposite pair: its inverse, 200, is used
        ],
    )
    result = import_file(conn, "fx", fx)
    assert result.accrual.accrued_lines == 2
    usd = line(conn, f"{o}-1")
    # 19.99 x 151.37 = 3025.8863 -> 3026 JPY (no minor unit); x 0.20 = 605.2 -> 605
    assert (usd["net_gmv"], usd["commission"]) == (Decimal("3026"), Decimal("605"))
    assert line(conn, f"{o}-2")["net_gmv"] == Decimal("4000")
    assert receivable(conn, merchant, "JPY") == Decimal("1405")


def test_kwd_has_three_decimals(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn, gmv_contract(currency="KWD"))
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "view", "c", "2026-10-10T11:00:00+00:00", ""),
        ],
    )
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            # 4.503 x 0.20 = 0.9006 -> 0.901
            (f"{o}-1", 1, ORDER_AT, "c", 1, "4.503", "", "KWD", ""),
        ],
    )
    assert line(conn, f"{o}-1")["commission"] == Decimal("0.901")


def test_refunds_claw_back_at_the_accrued_rate_never_more_than_accrued(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
        ],
    )
    # 3 x 3.33 - 0.01 = 9.98; x 0.20 = 1.996 -> 2.00
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-1", 1, ORDER_AT, "c", 3, "3.33", "0.01", "USD", ""),
        ],
    )
    assert line(conn, f"{o}-1")["commission"] == Decimal("2.00")
    header = "refund_id,order_id,line_id,refunded_at,quantity,amount"
    refunds = write_csv(
        tmp_path / "refunds.csv",
        header,
        [
            f"{o}-r1,{o}-1,1,2026-10-12T10:00:00+00:00,1,",  # 9.98/3 = 3.3266.. -> 3.33 x .2 = 0.67
            f"{o}-r2,{o}-1,1,2026-10-13T10:00:00+00:00,1,",  # cumulative 6.65 -> 1.33: 0.66 more
        ],
    )
    import_file(conn, "refunds", refunds)
    claws = conn.execute(
        "SELECT refund_id, clawback FROM refunds WHERE order_id = %s ORDER BY refund_id",
        (f"{o}-1",),
    ).fetchall()
    assert [c["clawback"] for c in claws] == [Decimal("0.67"), Decimal("0.66")]
    too_much = write_csv(
        tmp_path / "more.csv",
        header,
        [
            f"{o}-r3,{o}-1,1,2026-10-14T10:00:00+00:00,2,",
        ],
    )
    with pytest.raises(FeedError, match=r"more\.csv: row 2: quantity: .*more than the 3 bought"):
        import_file(conn, "refunds", too_much)
    rest = write_csv(
        tmp_path / "rest.csv",
        header,
        [
            f"{o}-r3,{o}-1,1,2026-10-14T10:00:00+00:00,1,",
        ],
    )
    import_file(conn, "refunds", rest)
    # everything refunded: exactly what accrued came back
    assert receivable(conn, merchant) == Decimal("0.00")


def test_refund_after_close_claws_back_in_the_next_open_month(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
        ],
    )
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-1", 1, ORDER_AT, "c", 2, "50.00", "", "USD", ""),
        ],
    )
    close_month(conn, merchant, date(2026, 10, 1))
    refund = write_csv(
        tmp_path / "refunds.csv",
        "refund_id,order_id,line_id,refunded_at,amount",
        [
            f"{o}-r1,{o}-1,1,2026-10-20T10:00:00+00:00,50.00",
        ],
    )
    import_file(conn, "refunds", refund)
    txn = conn.execute(
        "SELECT t.effective_date, t.adjusts_period, t.code FROM refunds r "
        "JOIN ledger_transactions t ON t.txn_id = r.txn_id WHERE r.refund_id = %s",
        (f"{o}-r1",),
    ).fetchone()
    assert txn == {
        "effective_date": date(2026, 11, 1),
        "adjusts_period": date(2026, 10, 1),
        "code": "gmv_clawback",
    }
    assert receivable(conn, merchant) == Decimal("10.00")


@pytest.mark.parametrize(
    ("schedule", "expected_true_up"),
    [
        # 1,500 reaches the 1,000 tier: all of it at 25% = 375.00, minus 225.00 accrued
        ("volume", Decimal("150.00")),
        # 1,000 at 15% + 500 at 25% = 275.00, minus 225.00 accrued
        ("graduated", Decimal("50.00")),
    ],
)
def test_tier_true_up_at_close(conn, tmp_path, schedule, expected_true_up):
    contract = gmv_contract(schedule=schedule, tiers=(("0", "0.15"), ("1000", "0.25")))
    merchant, (a1, _, _) = new_gmv_merchant(conn, contract)
    o = merchant
    import_interactions(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
        ],
    )
    import_orders(
        conn,
        tmp_path,
        merchant,
        [
            (f"{o}-1", 1, ORDER_AT, "c", 1, "1000.00", "", "USD", ""),
            (f"{o}-2", 1, ORDER_AT, "c", 1, "500.00", "", "USD", ""),
        ],
    )
    closed = close_month(conn, merchant, date(2026, 10, 1))
    assert closed.true_up == {"USD": expected_true_up}
    assert receivable(conn, merchant) == Decimal("225.00") + expected_true_up
    again = close_month(conn, merchant, date(2026, 10, 1))
    assert (again.closed_now, again.true_up) == (False, {})
    assert receivable(conn, merchant) == Decimal("225.00") + expected_true_up


def test_bad_rows_are_named_and_nothing_is_written(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    _, (foreign, _, _) = new_gmv_merchant(conn)
    o = merchant
    bad = interactions(
        tmp_path,
        merchant,
        [
            (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
            (f"{o}-e2", foreign, "click", "c", "2026-10-10T08:00:00+00:00", ""),
        ],
        name="bad.csv",
    )
    with pytest.raises(FeedError) as error:
        import_file(conn, "interactions", bad)
    assert str(error.value) == (
        f"{bad}: row 3: asset_id: asset {foreign} is not an asset of merchant {merchant}"
    )
    conn.rollback()
    count = conn.execute(
        "SELECT count(*) AS n FROM interactions WHERE merchant_id = %s", (merchant,)
    ).fetchone()
    assert count["n"] == 0
    typo = orders(
        tmp_path,
        merchant,
        [
            (f"{o}-1", 1, "2026-10-10 12:00", "c", 1, '"12,50"', "", "USD", ""),
        ],
        name="typo.csv",
    )
    with pytest.raises(FeedError) as refused:
        import_file(conn, "orders", typo)
    headline, ordered_at, price = str(refused.value).splitlines()
    assert headline == f"{typo}: 1 bad row (2 problems); nothing was imported"
    assert ordered_at.startswith("  row 2: ordered_at: ") and "with an offset" in ordered_at
    assert price.startswith("  row 2: unit_price: ")


def test_replaying_any_file_changes_nothing(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    files = [
        (
            "interactions",
            interactions(
                tmp_path, merchant, [(f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", "")]
            ),
        ),
        (
            "orders",
            orders(tmp_path, merchant, [(f"{o}-1", 1, ORDER_AT, "c", 2, "25.00", "", "USD", "")]),
        ),
        (
            "refunds",
            write_csv(
                tmp_path / "r.csv",
                "refund_id,order_id,line_id,refunded_at,quantity",
                [f"{o}-r1,{o}-1,1,2026-10-11T00:00:00+00:00,1"],
            ),
        ),
    ]
    for kind, path in files:
        import_file(conn, kind, path)
    before = receivable(conn, merchant)
    for kind, path in files:
        assert import_file(conn, kind, path).new == 0
    assert receivable(conn, merchant) == before == Decimal("5.00")


def test_a_line_free_after_its_discount_can_be_refunded(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_interactions(conn, tmp_path, merchant, [
        (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
    ])  # fmt: skip
    import_orders(conn, tmp_path, merchant, [
        (f"{o}-1", 1, ORDER_AT, "c", 1, "0.01", "0.01", "USD", ""),
    ])  # fmt: skip
    refund = write_csv(tmp_path / "r.csv", "refund_id,order_id,line_id,refunded_at,quantity",
                       [f"{o}-r1,{o}-1,1,2026-10-11T00:00:00+00:00,1"])  # fmt: skip
    import_file(conn, "refunds", refund)
    row = conn.execute("SELECT net_refund, clawback FROM refunds WHERE refund_id = %s",
                       (f"{o}-r1",)).fetchone()  # fmt: skip
    assert row == {"net_refund": Decimal("0E-12"), "clawback": Decimal("0.00")}


def test_late_order_accrues_in_the_first_open_month_naming_its_own(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_interactions(conn, tmp_path, merchant, [
        (f"{o}-e1", a1, "click", "c", "2026-11-20T08:00:00+00:00", ""),
    ])  # fmt: skip
    close_month(conn, merchant, date(2026, 10, 1))
    close_month(conn, merchant, date(2026, 11, 1))
    result = import_orders(conn, tmp_path, merchant, [
        (f"{o}-1", 1, "2026-11-20T12:00:00+00:00", "c", 2, "50.00", "", "USD", ""),
        (f"{o}-1", 2, "2026-11-20T12:00:00+00:00", "c", 1, "10.00", "", "USD", ""),
    ])  # fmt: skip
    assert result.accrual.accrued_lines == 2
    assert result.accrual.late == [
        {"what": f"order {o}-1 line 1", "period": "2026-11", "posted_into": "2026-12"},
        {"what": f"order {o}-1 line 2", "period": "2026-11", "posted_into": "2026-12"},
    ]
    assert late_text(result.accrual.late[0]) == (
        f"order {o}-1 line 1: posted into 2026-12: 2026-11 is closed"
    )
    txn = conn.execute(
        "SELECT t.effective_date, t.adjusts_period FROM order_lines l "
        "JOIN ledger_transactions t ON t.txn_id = l.txn_id WHERE l.order_id = %s "
        "AND l.line_id = '1'",
        (f"{o}-1",),
    ).fetchone()
    assert txn == {"effective_date": date(2026, 12, 1), "adjusts_period": date(2026, 11, 1)}
    assert receivable(conn, merchant) == Decimal("22.00")
    december = build_statement(conn, merchant, date(2026, 12, 1), date(2026, 12, 31))
    assert december.totals["USD"]["accrued_commissions"] == Decimal("22.00")
    # a late refund of it follows it into December as well
    refund = write_csv(tmp_path / "r.csv", "refund_id,order_id,line_id,refunded_at,quantity",
                       [f"{o}-r1,{o}-1,1,2026-11-25T00:00:00+00:00,1"])  # fmt: skip
    refunded = import_file(conn, "refunds", refund)
    assert refunded.accrual.late == [
        {"what": f"refund {o}-r1", "period": "2026-11", "posted_into": "2026-12"}
    ]
    assert receivable(conn, merchant) == Decimal("12.00")


def test_a_line_waiting_for_its_rate_at_close_accrues_when_the_rate_arrives(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_interactions(conn, tmp_path, merchant, [
        (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
    ])  # fmt: skip
    import_orders(conn, tmp_path, merchant, [
        (f"{o}-1", 1, ORDER_AT, "c", 1, "100.00", "", "EUR", ""),
    ])  # fmt: skip
    close_month(conn, merchant, date(2026, 10, 1))
    assert line(conn, f"{o}-1")["status"] == "waiting"
    fx = write_csv(tmp_path / "fx.csv", "date,base,quote,rate", ["2026-10-10,EUR,USD,1.10"])
    result = import_file(conn, "fx", fx)
    assert {"what": f"order {o}-1 line 1", "period": "2026-10", "posted_into": "2026-11"} in (
        result.accrual.late
    )
    assert line(conn, f"{o}-1")["commission"] == Decimal("22.00")


def test_an_order_left_unattributed_at_close_stays_so(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_orders(conn, tmp_path, merchant, [
        (f"{o}-1", 1, ORDER_AT, "c", 1, "100.00", "", "USD", ""),
    ])  # fmt: skip
    close_month(conn, merchant, date(2026, 10, 1))
    late_click = import_interactions(conn, tmp_path, merchant, [
        (f"{o}-e1", a1, "click", "c", "2026-10-10T08:00:00+00:00", ""),
    ])  # fmt: skip
    assert late_click.accrual.attributed_orders == 0
    assert attributed(conn, f"{o}-1") is None
    assert line(conn, f"{o}-1")["status"] == "unattributed"


def test_one_rounding_regressions_that_were_a_cent_off(conn, tmp_path):
    """Numbers for which rounding twice (or a truncated inverse rate) gave another cent."""
    AUGUST_AT = "2026-08-11T12:00:00+00:00"  # a day no other test has FX rates for
    # 1. Direct rate: 1.14 USD x 1.0833 = 1.234962 EUR; x 0.15 = 0.1852443 -> 0.19.
    #    Before: 1.234962 -> 1.23 first, x 0.15 = 0.1845 -> 0.18.
    eur, (a1, _, _) = new_gmv_merchant(conn, gmv_contract("EUR", tiers=(("0", "0.15"),)))
    import_interactions(conn, tmp_path, eur, [
        (f"{eur}-e1", a1, "click", "c", "2026-08-11T08:00:00+00:00", ""),
    ])  # fmt: skip
    import_orders(conn, tmp_path, eur, [
        (f"{eur}-1", 1, AUGUST_AT, "c", 1, "1.14", "", "USD", ""),
    ])  # fmt: skip
    fx = write_csv(tmp_path / "fx1.csv", "date,base,quote,rate", ["2026-08-11,USD,EUR,1.0833"])
    import_file(conn, "fx", fx)
    assert line(conn, f"{eur}-1")["commission"] == Decimal("0.19")

    # 2. Only the opposite pair: 1 JPY = 0.0072 USD, so 40.05 USD is 40.05 / 0.0072 =
    #    5562.5 JPY exactly: half-even 5562 and the commission 1112.5 -> 1112. Before,
    #    x 138.8888888888888889 (the stored inverse) gave 5562.5000000000000006 -> 5563,
    #    and 5563 x 0.20 = 1112.6 -> 1113.
    jpy, (a2, _, _) = new_gmv_merchant(conn, gmv_contract("JPY"))
    import_interactions(conn, tmp_path, jpy, [
        (f"{jpy}-e1", a2, "click", "c", "2026-08-11T08:00:00+00:00", ""),
    ])  # fmt: skip
    import_orders(conn, tmp_path, jpy, [
        (f"{jpy}-1", 1, AUGUST_AT, "c", 1, "40.05", "", "USD", ""),
    ])  # fmt: skip
    fx = write_csv(tmp_path / "fx2.csv", "date,base,quote,rate", ["2026-08-11,JPY,USD,0.0072"])
    import_file(conn, "fx", fx)
    accrued = line(conn, f"{jpy}-1")
    assert (accrued["fx_rate"], accrued["fx_inverse"]) == (Decimal("0.0072"), True)
    assert (accrued["net_gmv"], accrued["commission"]) == (Decimal("5562"), Decimal("1112"))

    # 3. Clawback: 3 x 3.37 - 0.01 = 10.10 at 15% accrues 1.515 -> 1.52. One of three
    #    refunded is 3.3666.. x 0.15 = 0.505 exactly -> 0.50 (half-even); before, 3.37 x
    #    0.15 = 0.5055 -> 0.51. Two refunded: 1.01 in total, so 0.51 more.
    usd, (a3, _, _) = new_gmv_merchant(conn, gmv_contract(tiers=(("0", "0.15"),)))
    import_interactions(conn, tmp_path, usd, [
        (f"{usd}-e1", a3, "click", "c", "2026-08-11T08:00:00+00:00", ""),
    ])  # fmt: skip
    import_orders(conn, tmp_path, usd, [
        (f"{usd}-1", 1, AUGUST_AT, "c", 3, "3.37", "0.01", "USD", ""),
    ])  # fmt: skip
    assert line(conn, f"{usd}-1")["commission"] == Decimal("1.52")
    refunds = write_csv(tmp_path / "r.csv", "refund_id,order_id,line_id,refunded_at,quantity", [
        f"{usd}-r1,{usd}-1,1,2026-08-12T00:00:00+00:00,1",
        f"{usd}-r2,{usd}-1,1,2026-08-13T00:00:00+00:00,1",
    ])  # fmt: skip
    import_file(conn, "refunds", refunds)
    claws = conn.execute(
        "SELECT clawback FROM refunds WHERE order_id = %s ORDER BY refund_id", (f"{usd}-1",)
    ).fetchall()
    assert [c["clawback"] for c in claws] == [Decimal("0.50"), Decimal("0.51")]


def test_true_up_is_on_the_exact_month_total(conn, tmp_path):
    # Six lines of 10.00 EUR at 1 USD = 0.9 EUR (only the opposite pair): the month is
    # 66.666.. USD exactly; volume, 25% from 30 USD: 16.666.. -> 16.67 due. Each line
    # accrued 11.111.. x 0.15 -> 1.67, 10.02 in all: the true-up is 6.65. Before, the
    # rounded lines (6 x 11.11 = 66.66) gave 16.665 -> 16.66 and a true-up of 6.64.
    contract = gmv_contract(schedule="volume", tiers=(("0", "0.15"), ("30", "0.25")))
    merchant, (a1, _, _) = new_gmv_merchant(conn, contract)
    o = merchant
    import_interactions(conn, tmp_path, merchant, [
        (f"{o}-e1", a1, "click", "c", "2026-07-10T08:00:00+00:00", ""),
    ])  # fmt: skip
    at = "2026-07-10T12:00:00+00:00"
    import_orders(conn, tmp_path, merchant, [
        (f"{o}-{n}", 1, at, "c", 1, "10.00", "", "EUR", "") for n in range(6)
    ])  # fmt: skip
    import_file(conn, "fx", write_csv(tmp_path / "fx.csv", "date,base,quote,rate",
                                      ["2026-07-10,USD,EUR,0.9"]))  # fmt: skip
    closed = close_month(conn, merchant, date(2026, 7, 1))
    assert closed.true_up == {"USD": Decimal("6.65")}
