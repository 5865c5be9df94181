"""What the faster import paths must keep: the one half-even rounding, the FX rate a line
is converted with, contracts found by their range of days, and whole-file imports."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from attribution.imports import import_file
from billing.contracts import _validated, create_version
from billing.feeds import FeedError
from tests.helpers.finance import (
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    gmv_contract,
    new_gmv_merchant,
    write_csv,
)

ORDER_AT = "2026-10-10T12:00:00+00:00"


def _python_half_even(num: Decimal, den: Decimal, digits: int) -> Decimal:
    """billing's rule: the exact quotient rounded half-even once (Python rounds a
    Fraction half to even)."""
    exact = round(Fraction(num) / Fraction(den), digits)
    return Decimal(exact.numerator) / Decimal(exact.denominator)


def _cases() -> list[tuple[Decimal, Decimal, int]]:
    rng = random.Random(21)
    ties = [
        (Decimal("0.125"), Decimal(1), 2),
        (Decimal("0.135"), Decimal(1), 2),
        (Decimal("-0.125"), Decimal(1), 2),
        (Decimal("-0.135"), Decimal(1), 2),
        (Decimal("2.5"), Decimal(1), 0),
        (Decimal("3.5"), Decimal(-1), 0),
        (Decimal("1"), Decimal("8"), 2),  # 0.125
        (Decimal("40.05"), Decimal("0.0072"), 0),  # 5562.5 -> 5562
    ]
    cases = []
    for _ in range(3000):
        num = Decimal(rng.randint(-(10**12), 10**12)).scaleb(-rng.randint(0, 12))
        den = Decimal(rng.choice([-1, 1]) * rng.randint(1, 10**8)).scaleb(-rng.randint(0, 8))
        cases.append((num, den, rng.randint(0, 4)))
    return ties + cases


def test_round_half_even_in_postgres_agrees_with_python(conn):
    cases = _cases()
    rows = conn.execute(
        "SELECT round_half_even(n, d, g) AS r FROM unnest(%s::numeric[], %s::numeric[], "
        "%s::int[]) WITH ORDINALITY AS c(n, d, g, i) ORDER BY i",
        ([c[0] for c in cases], [c[1] for c in cases], [c[2] for c in cases]),
    ).fetchall()
    for (num, den, digits), row in zip(cases, rows, strict=True):
        assert row["r"] == _python_half_even(num, den, digits), (num, den, digits)


def _interactions(tmp_path, merchant, rows):
    lines = [f"{e},{merchant},{a},{k},{c},{t},{cid}" for e, a, k, c, t, cid in rows]
    return write_csv(tmp_path / f"{merchant}-i.csv", INTERACTION_COLUMNS, lines)


def _orders(tmp_path, merchant, rows, name="o.csv"):
    lines = [f"{o},{ln},{merchant},{t},{c},SKU,{q},{p},,{ccy}," for o, ln, t, c, q, p, ccy in rows]
    return write_csv(tmp_path / f"{merchant}-{name}", ORDER_COLUMNS, lines)


def _line(conn, order_id, line_id="1") -> dict:
    return conn.execute(
        "SELECT * FROM order_lines WHERE order_id = %s AND line_id = %s", (order_id, line_id)
    ).fetchone()


def test_direct_rate_is_used_when_both_pairs_exist(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn, gmv_contract(currency="CHF"))
    o = merchant
    at = "2026-10-17T12:00:00+00:00"  # FX rates are global: a day and pair of its own
    import_file(
        conn,
        "interactions",
        _interactions(tmp_path, merchant, [(f"{o}-e1", a1, "view", "c", at, "")]),
    )
    fx = write_csv(
        tmp_path / f"{merchant}-fx.csv",
        "date,base,quote,rate",
        ["2026-10-17,SEK,CHF,0.09", "2026-10-17,CHF,SEK,10"],
    )
    import_file(conn, "fx", fx)
    rows = [(f"{o}-1", 1, at, "c", 1, "10.00", "SEK")]
    import_file(conn, "orders", _orders(tmp_path, merchant, rows))
    accrued = _line(conn, f"{o}-1")
    # 10.00 SEK x 0.09 = 0.90 CHF (not 10.00 / 10 = 1.00); x 0.20 = 0.18
    assert (accrued["fx_rate"], accrued["fx_inverse"]) == (Decimal("0.09"), False)
    assert (accrued["net_gmv"], accrued["commission"]) == (Decimal("0.90"), Decimal("0.18"))


def test_windows_come_from_the_contract_in_force_on_the_order_date(conn, tmp_path):
    """A later version with a longer click window applies only to orders from its first
    day on (each order finds its version by the range of days it covers)."""
    merchant, (a1, a2, _) = new_gmv_merchant(conn)
    longer = gmv_contract(
        effective_from="2026-10-20", attribution={"click_days": 30, "view_days": 1}
    )
    create_version(conn, merchant, _validated(longer, "test contract"))
    o = merchant
    clicks = [
        (f"{o}-e1", a1, "click", "ann", "2026-10-01T12:00:00+00:00", ""),
        (f"{o}-e2", a2, "click", "bob", "2026-10-01T12:00:00+00:00", ""),
    ]
    import_file(conn, "interactions", _interactions(tmp_path, merchant, clicks))
    rows = [
        # 14 days after ann's click: outside the first version's 7-day window
        (f"{o}-1", 1, "2026-10-15T12:00:00+00:00", "ann", 1, "10.00", "USD"),
        # 20 days after bob's click, under the second version: inside its 30 days
        (f"{o}-2", 1, "2026-10-21T12:00:00+00:00", "bob", 1, "10.00", "USD"),
    ]
    import_file(conn, "orders", _orders(tmp_path, merchant, rows))
    assert _line(conn, f"{o}-1")["status"] == "unattributed"
    second = _line(conn, f"{o}-2")
    assert (second["status"], second["asset_id"]) == ("accrued", a2)


def test_a_refused_orders_file_leaves_nothing_behind(conn, tmp_path):
    """One bad row refuses the whole file: no line, attribution or posting is written."""
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_file(
        conn,
        "interactions",
        _interactions(tmp_path, merchant, [(f"{o}-e1", a1, "view", "c", ORDER_AT, "")]),
    )
    rows = [
        (f"{o}-1", 1, ORDER_AT, "c", 1, "10.00", "USD"),
        (f"{o}-1", 1, ORDER_AT, "c", 2, "10.00", "USD"),  # same line, other content
    ]
    with pytest.raises(FeedError, match="appears twice with different content"):
        import_file(conn, "orders", _orders(tmp_path, merchant, rows))
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM order_lines WHERE merchant_id = %(m)s) AS lines, "
        "(SELECT count(*) FROM order_attributions WHERE merchant_id = %(m)s) AS attributed, "
        "(SELECT count(*) FROM ledger_transactions WHERE merchant_id = %(m)s) AS posted",
        {"m": merchant},
    ).fetchone()
    assert counts == {"lines": 0, "attributed": 0, "posted": 0}


def test_replayed_orders_file_changes_nothing(conn, tmp_path):
    merchant, (a1, _, _) = new_gmv_merchant(conn)
    o = merchant
    import_file(
        conn,
        "interactions",
        _interactions(tmp_path, merchant, [(f"{o}-e1", a1, "view", "c", ORDER_AT, "")]),
    )
    rows = [
        (f"{o}-1", 1, ORDER_AT, "c", 1, "10.00", "USD"),
        (f"{o}-1", 2, ORDER_AT, "c", 3, "1.15", "USD"),
    ]
    path = _orders(tmp_path, merchant, rows)
    first = import_file(conn, "orders", path)
    snapshot = conn.execute(
        "SELECT order_id, line_id, status, commission, txn_id FROM order_lines "
        "WHERE merchant_id = %s ORDER BY 1, 2",
        (merchant,),
    ).fetchall()
    again = import_file(conn, "orders", path)
    assert (first.new, first.accrual.accrued_lines) == (2, 2)
    assert (again.new, again.accrual.accrued_lines) == (0, 0)
    assert (
        conn.execute(
            "SELECT order_id, line_id, status, commission, txn_id FROM order_lines "
            "WHERE merchant_id = %s ORDER BY 1, 2",
            (merchant,),
        ).fetchall()
        == snapshot
    )
    # 10.00 x 0.20 = 2.00; 3 x 1.15 = 3.45 x 0.20 = 0.69
    assert [r["commission"] for r in snapshot] == [Decimal("2.00"), Decimal("0.69")]


def test_interactions_partly_known_or_repeated_insert_only_the_new_events(conn, tmp_path):
    """A file whose events are all new is inserted plainly; one that repeats a known
    event, or an event of its own, still imports its new events once and skips the rest."""
    merchant, (a1, a2, _) = new_gmv_merchant(conn)
    e = merchant
    first = [
        (f"{e}-e1", a1, "click", "ann", ORDER_AT, ""),
        (f"{e}-e2", a2, "view", "ann", ORDER_AT, ""),
    ]
    assert import_file(conn, "interactions", _interactions(tmp_path, merchant, first)).new == 2
    second = [
        first[1],  # known, same content: skipped
        (f"{e}-e3", a1, "view", "bob", ORDER_AT, ""),
        (f"{e}-e3", a1, "view", "bob", ORDER_AT, ""),  # repeated in the file: once
    ]
    path = write_csv(
        tmp_path / f"{merchant}-i2.csv",
        INTERACTION_COLUMNS,
        [f"{x},{merchant},{a},{k},{c},{t},{cid}" for x, a, k, c, t, cid in second],
    )
    result = import_file(conn, "interactions", path)
    assert (result.rows, result.new) == (3, 1)
    stored = conn.execute(
        "SELECT event_id FROM interactions WHERE merchant_id = %s ORDER BY event_id", (merchant,)
    ).fetchall()
    assert [r["event_id"] for r in stored] == [f"{e}-e1", f"{e}-e2", f"{e}-e3"]


def _refusal(conn, kind, path) -> list[tuple[int, str, str]]:
    with pytest.raises(FeedError) as refused:
        import_file(conn, kind, path)
    return [(e.row, e.field, e.problem) for e in refused.value.errors]


def test_interactions_refused_for_an_id_with_other_content(conn, tmp_path):
    merchant, (a1, a2, _) = new_gmv_merchant(conn)
    e = merchant
    import_file(
        conn,
        "interactions",
        _interactions(tmp_path, merchant, [(f"{e}-e1", a1, "click", "ann", ORDER_AT, "")]),
    )
    rows = [
        (f"{e}-e1", a1, "click", "ann", ORDER_AT, "K1"),  # known, now with a click id
        (f"{e}-e2", a1, "view", "bob", ORDER_AT, ""),
        (f"{e}-e2", a1, "view", "bob", ORDER_AT, ""),  # repeated as it is: fine
        (f"{e}-e3", a1, "view", "cem", ORDER_AT, ""),
        (f"{e}-e3", a2, "view", "cem", ORDER_AT, ""),  # repeated with another asset
    ]
    path = write_csv(
        tmp_path / f"{merchant}-bad.csv",
        INTERACTION_COLUMNS,
        [f"{x},{merchant},{a},{k},{c},{t},{cid}" for x, a, k, c, t, cid in rows],
    )
    assert _refusal(conn, "interactions", path) == [
        (2, "event_id", f"event {e}-e1 was imported before with other content"),
        (5, "event_id", f"event {e}-e3 appears twice with different content"),
        (6, "event_id", f"event {e}-e3 appears twice with different content"),
    ]
    assert conn.execute(
        "SELECT count(*) AS n FROM interactions WHERE merchant_id = %s", (merchant,)
    ).fetchone() == {"n": 1}


def test_orders_refused_when_lines_of_an_order_disagree(conn, tmp_path):
    merchant, _ = new_gmv_merchant(conn)
    o = merchant
    later = "2026-10-10T13:00:00+00:00"
    lines = [
        f"{o}-1,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",
        f"{o}-1,2,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",  # agrees: fine
        f"{o}-2,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",
        f"{o}-2,2,{merchant},{ORDER_AT},bob,SKU,1,1.00,,USD,",  # another customer
        f"{o}-3,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,K1",
        f"{o}-3,2,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",  # click id on one line only
        f"{o}-4,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",
        f"{o}-4,2,{merchant},{later},ann,SKU,1,1.00,,USD,",  # another time
        f"{o}-5,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",
        f"{o}-5,1,{merchant},{ORDER_AT},ann,SKU,2,1.00,,USD,",  # one line, two contents
        f"{o}-6,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",
        f"{o}-6,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,",  # repeated as it is: fine
    ]
    path = write_csv(tmp_path / f"{merchant}-bad-o.csv", ORDER_COLUMNS, lines)
    whole = "disagree on merchant_id, ordered_at, customer_key or click_id"
    found = _refusal(conn, "orders", path)
    assert [(row, field) for row, field, _ in found] == [
        (4, "order_id"),
        (5, "order_id"),
        (6, "order_id"),
        (7, "order_id"),
        (8, "order_id"),
        (9, "order_id"),
        (10, "line_id"),
        (11, "line_id"),
    ]
    assert all(whole in problem for _, field, problem in found if field == "order_id")
    assert found[-1][2] == f"order {o}-5 line 1 appears twice with different content"


def test_orders_refused_when_a_line_disagrees_with_its_imported_order(conn, tmp_path):
    merchant, _ = new_gmv_merchant(conn)
    o = merchant
    first = [f"{o}-1,1,{merchant},{ORDER_AT},ann,SKU,1,1.00,,USD,"]
    import_file(conn, "orders", write_csv(tmp_path / f"{merchant}-o1.csv", ORDER_COLUMNS, first))
    late = [
        f"{o}-1,1,{merchant},{ORDER_AT},ann,SKU,1,1.50,,USD,",  # imported before: other price
        f"{o}-1,2,{merchant},{ORDER_AT},bob,SKU,1,1.00,,USD,",  # a late line, other customer
    ]
    path = write_csv(tmp_path / f"{merchant}-o2.csv", ORDER_COLUMNS, late)
    assert [(row, field) for row, field, _ in _refusal(conn, "orders", path)] == [
        (2, "line_id"),
        (3, "order_id"),
    ]
