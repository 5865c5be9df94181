"""Properties of attribution and commissions over random interactions, orders and refunds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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

START = datetime(2026, 10, 1, tzinfo=UTC)
CUSTOMERS = ["ann", "bob", "cem"]
moments = st.integers(0, 20 * 24 * 60).map(lambda minutes: START + timedelta(minutes=minutes))
interaction = st.tuples(
    st.integers(0, 2), st.sampled_from(["click", "view"]), st.sampled_from(CUSTOMERS), moments
)
order_line = st.tuples(
    st.sampled_from(CUSTOMERS),
    moments,
    st.integers(1, 4),
    st.decimals("0.01", "500", places=2),
    st.integers(0, 100),  # discount in percent of the line
)
refund = st.tuples(st.integers(0, 7), st.integers(1, 3), st.integers(0, 10 * 24 * 60))
scenario = st.tuples(
    st.lists(interaction, max_size=12),
    st.lists(order_line, min_size=1, max_size=8),
    st.lists(refund, max_size=6),
    st.sampled_from(["flat", "volume", "graduated"]),
)


def _files(tmp_path, merchant, assets, interactions, lines, refunds):
    m = merchant
    rows = [
        f"{m}-e{i},{m},{assets[a]},{kind},{c},{at.isoformat()}"
        for i, (a, kind, c, at) in enumerate(interactions)
    ]
    i_path = write_csv(tmp_path / f"{m}-i.csv", INTERACTION_COLUMNS.rsplit(",", 1)[0], rows)
    order_rows = []
    for n, (c, at, qty, price, pct) in enumerate(lines):
        discount = (qty * price * pct / 100).quantize(Decimal("0.01"), rounding="ROUND_DOWN")
        order_rows.append(f"{m}-o{n},1,{m},{at.isoformat()},{c},SKU,{qty},{price},{discount},USD,")
    o_path = write_csv(tmp_path / f"{m}-o.csv", ORDER_COLUMNS, order_rows)
    refund_rows = []
    for n, (which, qty, after) in enumerate(refunds):
        which %= len(lines)
        at = lines[which][1] + timedelta(minutes=after)
        refund_rows.append(f"{m}-r{n},{m}-o{which},1,{at.isoformat()},{qty}")
    r_path = write_csv(
        tmp_path / f"{m}-r.csv", "refund_id,order_id,line_id,refunded_at,quantity", refund_rows
    )
    return i_path, o_path, r_path


def _counts(conn, merchant) -> tuple:
    return conn.execute(
        "SELECT (SELECT count(*) FROM ledger_transactions WHERE merchant_id = %(m)s),"
        " (SELECT count(*) FROM order_lines WHERE merchant_id = %(m)s),"
        " (SELECT count(*) FROM interactions WHERE merchant_id = %(m)s),"
        " (SELECT count(*) FROM refunds WHERE merchant_id = %(m)s),"
        " (SELECT count(*) FROM order_attributions WHERE merchant_id = %(m)s)",
        {"m": merchant},
    ).fetchone()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario)
def test_attribution_invariants(db, tmp_path, case):
    interactions, lines, refunds, schedule = case
    tiers = (("0", "0.20"),) if schedule == "flat" else (("0", "0.15"), ("300", "0.30"))
    with db.connection() as conn:
        merchant, assets = new_gmv_merchant(conn, gmv_contract(schedule=schedule, tiers=tiers))
        files = _files(tmp_path, merchant, assets, interactions, lines, refunds)
        import_file(conn, "interactions", files[0])
        import_file(conn, "orders", files[1])
        try:
            import_file(conn, "refunds", files[2])
        except FeedError as exc:  # more refunded than bought: refused whole, nothing written
            assert "would return more than" in str(exc)
            conn.rollback()
            files = files[:2]
        conn.commit()

        # Attributed GMV never exceeds the merchant's order GMV.
        gmv = conn.execute(
            "SELECT sum(quantity * unit_price - discount) AS orders,"
            " coalesce(sum(net_gmv) FILTER (WHERE status = 'accrued'), 0) AS attributed"
            " FROM order_lines WHERE merchant_id = %s",
            (merchant,),
        ).fetchone()
        assert gmv["attributed"] <= gmv["orders"]

        # Clawbacks for a line never exceed what it accrued.
        over = conn.execute(
            "SELECT l.order_id FROM order_lines l JOIN refunds r USING (order_id, line_id)"
            " WHERE l.merchant_id = %s GROUP BY l.order_id, l.line_id, l.commission"
            " HAVING sum(coalesce(r.clawback, 0)) > coalesce(l.commission, 0)",
            (merchant,),
        ).fetchall()
        assert over == []

        # Re-importing any input changes nothing.
        before = _counts(conn, merchant)
        for kind, path in zip(["interactions", "orders", "refunds"], files, strict=False):
            assert import_file(conn, kind, path).new == 0
        assert _counts(conn, merchant) == before

        # The statement's total is the sum of the merchant's postings for the period.
        statement = build_statement(conn, merchant, date(2026, 10, 1), date(2026, 12, 1))
        ledger = conn.execute(
            "SELECT coalesce(sum(CASE p.side WHEN 'D' THEN p.amount ELSE -p.amount END), 0) AS s"
            " FROM ledger_postings p JOIN ledger_transactions t USING (txn_id)"
            " JOIN ledger_accounts a ON a.account_id = p.account_id"
            " WHERE t.merchant_id = %s AND a.kind = 'receivable'"
            " AND t.effective_date BETWEEN '2026-10-01' AND '2026-10-31'",
            (merchant,),
        ).fetchone()["s"]
        total = statement.total("USD") if "USD" in statement.totals else Decimal(0)
        assert total == ledger
