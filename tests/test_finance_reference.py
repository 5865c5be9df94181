"""A reference model of the README's finance rules, and a property: adreel agrees to the cent.

The model below is deliberately naive: plain Python and fractions, no SQL, one loop per
rule, written from the README's "Finance" section rather than from adreel's code. The
property generates a merchant with a contract (flat, volume or graduated; USD or EUR;
click and view windows; a lock period), interactions at and around the window edges
(ties at one instant, click ids), orders in both currencies with discounts, FX rates of
which some days have only the opposite pair, partial and full refunds by quantity or
amount, and three phases: before October closes, between the October and November
closes (late orders, late refunds, a rate that arrives after its month closed), and
after both. It then checks every figure of the October, November and December statements
(each kind, total, pending commission, due now) against the model's, to the cent.

Runtime: ``max_examples=200``; each example is one merchant, up to nine imports and two
closes, about 0.15 s, so the test takes about 30 seconds on this 2-core machine (measured
29.7 s). Of the examples, about seven in ten post something into a later month (late
orders, late rates, late refunds), about half convert through the opposite pair only.

FX rates are global, not per merchant: each example uses a year of its own (2101, 2102,
…) so that examples never see each other's rates.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution.closing import close_month
from attribution.imports import import_file
from billing.statements import build_statement
from tests.helpers.finance import (
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    gmv_contract,
    new_gmv_merchant,
    write_csv,
)

DAY = 86400  # seconds
OCT_SECONDS, NOV_SECONDS = 31 * DAY, 30 * DAY
CUSTOMERS = ("ann", "bob", "cem")
KINDS = (
    "token_charges",
    "raas_charges",
    "accrued_commissions",
    "clawbacks",
    "tier_true_up",
    "credits",
    "other_charges",
)
_years = itertools.count(2101)

# ---------------------------------------------------------------------------------------
# The scenario: times are seconds from 1 October 00:00 UTC of the example's year.


@dataclass
class Line:
    line_id: str
    quantity: int
    unit_price: Decimal
    discount: Decimal

    @property
    def net(self) -> Fraction:
        return Fraction(self.quantity * self.unit_price - self.discount)


@dataclass
class Order:
    n: int
    phase: int  # 0: before October closes; 1: before November closes; 2: after
    at: int
    customer: str
    currency_is_foreign: bool
    click_ref: int | None  # names click id "ck<k>"
    lines: list[Line]
    utc_offset_hours: int


@dataclass
class Interaction:
    n: int
    asset: int
    kind: str
    customer: str
    at: int
    click_ref: int | None


@dataclass
class Refund:
    n: int
    order: int
    line_id: str
    phase: int
    at: int
    quantity: int | None
    amount: Decimal | None


@dataclass
class Scenario:
    currency: str
    foreign: str
    schedule: str
    tiers: list[tuple[Decimal, Decimal]]
    click_days: int
    view_days: int
    lock_days: int
    orders: list[Order]
    interactions: list[Interaction]
    fx: dict[int, tuple[Decimal, bool, int]]  # UTC day index -> (rate, inverse, phase)
    refunds: list[Refund]
    as_of_day: int  # days after 1 October


def _day(seconds: int) -> int:
    return seconds // DAY


@st.composite
def scenarios(draw) -> Scenario:
    currency = draw(st.sampled_from(["USD", "EUR"]))
    foreign = "EUR" if currency == "USD" else "USD"
    schedule = draw(st.sampled_from(["flat", "volume", "graduated"]))
    rates = st.sampled_from(["0.15", "0.175", "0.2", "0.25", "0.3"]).map(Decimal)
    tiers = [(Decimal(0), draw(rates))]
    if schedule != "flat":
        tiers.append((Decimal(draw(st.sampled_from(["20", "100", "400"]))), draw(rates)))
    click_days = draw(st.sampled_from([1, 7]))
    view_days = draw(st.sampled_from([0, 1]))
    lock_days = draw(st.sampled_from([0, 5, 15]))

    month_edges = [0, OCT_SECONDS - 1, OCT_SECONDS, OCT_SECONDS + NOV_SECONDS - 1]
    moment = st.one_of(st.sampled_from(month_edges), st.integers(0, OCT_SECONDS + NOV_SECONDS - 1))
    orders = []
    for n in range(draw(st.integers(1, 6))):
        lines = []
        for line_no in range(draw(st.integers(1, 2))):
            quantity = draw(st.integers(1, 4))
            price = draw(st.decimals("0.01", "300", places=2))
            percent = draw(st.sampled_from([0, 0, 7, 33, 100]))
            discount = (quantity * price * percent / 100).quantize(Decimal("0.01"), ROUND_DOWN)
            lines.append(Line(str(line_no + 1), quantity, price, discount))
        orders.append(
            Order(
                n,
                draw(st.integers(0, 2)),
                draw(moment),
                draw(st.sampled_from(CUSTOMERS)),
                draw(st.booleans()),
                draw(st.one_of(st.none(), st.integers(0, 3))),
                lines,
                draw(st.sampled_from([0, 0, 2, -5])),
            )
        )

    # Interactions around each order's instant: at it, a second either side of it and of
    # each window's far edge, and further away.
    offsets = [0, 1, -1, -3600, -2 * DAY]
    for days in (click_days, view_days):
        offsets += [-days * DAY, -days * DAY - 1, -days * DAY + 1]
    interactions = []
    for n in range(draw(st.integers(0, 14))):
        order = orders[draw(st.integers(0, len(orders) - 1))]
        same_customer = draw(st.integers(0, 3)) > 0
        interactions.append(
            Interaction(
                n,
                draw(st.integers(0, 1)),
                draw(st.sampled_from(["click", "view"])),
                order.customer if same_customer else draw(st.sampled_from(CUSTOMERS)),
                order.at + draw(st.sampled_from(offsets)),
                draw(st.one_of(st.none(), st.integers(0, 3))),
            )
        )

    fx = {}
    for day in sorted({_day(o.at) for o in orders if o.currency_is_foreign}):
        if draw(st.integers(0, 5)) == 0:
            continue  # never a rate: the lines wait
        rate = draw(st.decimals("0.5", "2", places=4))
        fx[day] = (rate, draw(st.booleans()), draw(st.sampled_from([0, 0, 1])))

    refunds = []
    end = OCT_SECONDS + NOV_SECONDS + 31 * DAY - 1
    for order in orders:
        for line in order.lines:
            left_quantity, left_net, by_amount = line.quantity, line.net, False
            for _ in range(draw(st.integers(0, 2))):
                phase = draw(st.integers(order.phase, 2))
                after = draw(st.one_of(st.sampled_from([0, 1, DAY]), st.integers(0, 50 * DAY)))
                at = min(order.at + after, end)
                kind = draw(st.sampled_from(["quantity", "amount", "rest"]))
                quantity, amount = None, None
                if kind == "rest" and not by_amount and left_quantity:
                    quantity = left_quantity
                elif kind == "quantity" and left_quantity:
                    quantity = draw(st.integers(1, left_quantity))
                    if quantity * line.net / line.quantity > left_net:
                        continue
                else:
                    share = Fraction(draw(st.integers(1, 100)), 100)
                    cents = int(left_net * share * 100)  # rounded down to a cent
                    if cents < 1:
                        continue
                    amount, by_amount = Decimal(cents) / 100, True
                if quantity:
                    left_quantity -= quantity
                    left_net -= quantity * line.net / line.quantity
                else:
                    left_net -= Fraction(amount)
                refunds.append(
                    Refund(len(refunds), order.n, line.line_id, phase, at, quantity, amount)
                )
    as_of_day = draw(st.sampled_from([19, 35, 45, 46, 61, 76, 111]))
    return Scenario(
        currency,
        foreign,
        schedule,
        tiers,
        click_days,
        view_days,
        lock_days,
        orders,
        interactions,
        fx,
        refunds,
        as_of_day,
    )


# ---------------------------------------------------------------------------------------
# The reference model: the README's rules, naively.


def cents(amount: Fraction) -> Fraction:
    """Round half-even to a cent (Python's round of a Fraction is half-even)."""
    return Fraction(round(amount * 100), 100)


def month_of(seconds: int) -> int:
    """0 for October, 1 for November, 2 for December (3 after)."""
    return 0 if seconds < OCT_SECONDS else 1 if seconds < OCT_SECONDS + NOV_SECONDS else 2


def id_key(text: str) -> tuple[int, bytes]:
    """README: a longer id is larger; ids of one length compare byte by byte."""
    return len(text), text.encode()


@dataclass
class Movement:
    month: int
    kind: str
    amount: Fraction
    locks_on: int  # day index (days after 1 October) from which it is due


@dataclass
class Model:
    sc: Scenario
    m: str  # the merchant id, which prefixes every id
    closed: set[int] = field(default_factory=set)
    movements: list[Movement] = field(default_factory=list)
    asset: dict[int, int | None] = field(default_factory=dict)  # order -> asset index
    accrued: dict[tuple[int, str], Fraction] = field(default_factory=dict)  # commission
    exact: dict[tuple[int, str], Fraction] = field(default_factory=dict)  # converted net
    clawed: dict[tuple[int, str], Fraction] = field(default_factory=dict)
    refunded: dict[tuple[int, str], Fraction] = field(default_factory=dict)  # order ccy
    settled: set[int] = field(default_factory=set)

    def first_open(self, month: int) -> int:
        while month in self.closed:
            month += 1
        return month

    def rate_for(self, order: Order, phase: int) -> Fraction | None:
        if not order.currency_is_foreign:
            return Fraction(1)
        known = self.sc.fx.get(_day(order.at))
        if known is None or known[2] > phase:
            return None
        rate, inverse, _ = known
        return 1 / Fraction(rate) if inverse else Fraction(rate)

    def attribute(self, order: Order) -> int | None:
        def latest(found: list[Interaction]) -> int | None:
            if not found:
                return None
            return max(found, key=lambda i: (i.at, id_key(f"{self.m}-e{i.n}"))).asset

        before = [i for i in self.sc.interactions if i.at <= order.at]
        if order.click_ref is not None:
            by_id = [i for i in before if i.kind == "click" and i.click_ref == order.click_ref]
            if by_id:
                return latest(by_id)
        for kind, days in (("click", self.sc.click_days), ("view", self.sc.view_days)):
            mine = [
                i
                for i in before
                if i.kind == kind and i.customer == order.customer and i.at >= order.at - days * DAY
            ]
            if mine:
                return latest(mine)
        return None

    def run_phase(self, phase: int) -> None:
        first_rate = Fraction(self.sc.tiers[0][1])
        for order in (o for o in self.sc.orders if o.phase == phase):
            self.asset[order.n] = self.attribute(order)
        for order in (o for o in self.sc.orders if o.phase <= phase):
            fx = self.rate_for(order, phase)
            if self.asset[order.n] is None or fx is None:
                continue
            locks_on = _day(order.at) + self.sc.lock_days
            for line in order.lines:
                key = (order.n, line.line_id)
                if key not in self.accrued:
                    self.exact[key] = line.net * fx
                    self.accrued[key] = cents(line.net * fx * first_rate)
                    self.clawed[key] = self.refunded[key] = Fraction(0)
                    month = self.first_open(month_of(order.at))
                    if self.accrued[key]:
                        self.movements.append(
                            Movement(month, "accrued_commissions", self.accrued[key], locks_on)
                        )
                pending = [
                    r
                    for r in self.sc.refunds
                    if (r.order, r.line_id) == key and r.phase <= phase and r.n not in self.settled
                ]
                pending.sort(key=lambda r: (r.at, id_key(f"{self.m}-r{r.n}")))
                for refund in pending:
                    if refund.quantity:
                        self.refunded[key] += refund.quantity * line.net / line.quantity
                    else:
                        self.refunded[key] += Fraction(refund.amount)
                    total = min(cents(self.refunded[key] * fx * first_rate), self.accrued[key])
                    clawback = total - self.clawed[key]
                    self.clawed[key] = total
                    self.settled.add(refund.n)
                    if clawback:
                        month = self.first_open(month_of(refund.at))
                        self.movements.append(Movement(month, "clawbacks", -clawback, locks_on))

    def schedule_commission(self, total: Fraction) -> Fraction:
        tiers = [(Fraction(start), Fraction(rate)) for start, rate in self.sc.tiers]
        if total <= 0:
            return Fraction(0)
        if self.sc.schedule in ("flat", "volume"):
            return cents(total * max(t for t in tiers if t[0] <= total)[1])
        commission = Fraction(0)
        for (start, rate), upper in zip(tiers, [t[0] for t in tiers[1:]] + [None], strict=True):
            top = total if upper is None else min(total, upper)
            if top > start:
                commission += (top - start) * rate
        return cents(commission)

    def close(self, month: int) -> None:
        if self.sc.schedule != "flat":
            keys = [
                (o.n, line.line_id)
                for o in self.sc.orders
                for line in o.lines
                if month_of(o.at) == month and (o.n, line.line_id) in self.accrued
            ]
            if keys:
                due = self.schedule_commission(sum((self.exact[k] for k in keys), Fraction(0)))
                true_up = due - sum((self.accrued[k] for k in keys), Fraction(0))
                if true_up:
                    last_day = [30, 60][month]  # day index of 31 October, 30 November
                    self.movements.append(
                        Movement(month, "tier_true_up", true_up, last_day + self.sc.lock_days)
                    )
        self.closed.add(month)

    def statement(self, month: int) -> dict:
        """What the README's statement of ``month`` shows, as adreel's JSON writes it."""
        mine = [mv for mv in self.movements if mv.month == month]
        if not mine:
            return {}
        by_kind = dict.fromkeys(KINDS, Fraction(0))
        for mv in mine:
            by_kind[mv.kind] += mv.amount
        total = sum(by_kind.values(), Fraction(0))
        pending = sum((mv.amount for mv in mine if mv.locks_on > self.sc.as_of_day), Fraction(0))
        figures = {**by_kind, "total": total, "pending_commission": pending}
        figures["due_now"] = total - pending
        return {self.sc.currency: {k: f"{Decimal(v.numerator) / v.denominator:.2f}"
                                   for k, v in figures.items()}}  # fmt: skip


# ---------------------------------------------------------------------------------------
# adreel, fed the same scenario as files.


def _files(tmp_path, sc: Scenario, m: str, assets: list[int], start: datetime, phase: int):
    def at(seconds: int, offset_hours: int = 0) -> str:
        moment = start + timedelta(seconds=seconds)
        return moment.astimezone(timezone(timedelta(hours=offset_hours))).isoformat()

    def ck(ref: int | None) -> str:
        return "" if ref is None else f"{m}-ck{ref}"

    files = []
    if phase == 0 and sc.interactions:
        rows = [
            f"{m}-e{i.n},{m},{assets[i.asset]},{i.kind},{i.customer},{at(i.at)},"
            + (ck(i.click_ref) if i.kind == "click" else "")
            for i in sc.interactions
        ]
        files.append(("interactions", write_csv(tmp_path / "i.csv", INTERACTION_COLUMNS, rows)))
    pairs = {False: f"{sc.foreign},{sc.currency}", True: f"{sc.currency},{sc.foreign}"}
    rates = [
        f"{(start + timedelta(days=day)).date().isoformat()},{pairs[inverse]},{rate}"
        for day, (rate, inverse, fx_phase) in sc.fx.items()
        if fx_phase == phase
    ]
    fx_file = [("fx", write_csv(tmp_path / f"fx{phase}.csv", "date,base,quote,rate", rates))]
    order_rows = [
        f"{m}-o{o.n},{line.line_id},{m},{at(o.at, o.utc_offset_hours)},{o.customer},SKU,"
        f"{line.quantity},{line.unit_price},{line.discount},"
        f"{sc.foreign if o.currency_is_foreign else sc.currency},{ck(o.click_ref)}"
        for o in sc.orders
        if o.phase == phase
        for line in o.lines
    ]
    refund_rows = [
        f"{m}-r{r.n},{m}-o{r.order},{r.line_id},{at(r.at)},{r.quantity or ''},{r.amount or ''}"
        for r in sc.refunds
        if r.phase == phase
    ]
    if phase == 0:  # rates first: lines accrue on import
        files += fx_file if rates else []
    if order_rows:
        files.append(("orders", write_csv(tmp_path / f"o{phase}.csv", ORDER_COLUMNS, order_rows)))
    if refund_rows:
        header = "refund_id,order_id,line_id,refunded_at,quantity,amount"
        files.append(("refunds", write_csv(tmp_path / f"r{phase}.csv", header, refund_rows)))
    if phase != 0 and rates:  # late rates last: waiting lines and their refunds follow
        files += fx_file
    return files


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sc=scenarios())
def test_statements_equal_the_reference_model_to_the_cent(db, tmp_path, sc):
    year = next(_years)
    start = datetime(year, 10, 1, tzinfo=UTC)
    contract = gmv_contract(
        sc.currency,
        schedule=sc.schedule,
        tiers=tuple((str(f), str(r)) for f, r in sc.tiers),
        attribution={"click_days": sc.click_days, "view_days": sc.view_days},
        lock_days=sc.lock_days,
    )
    with db.connection() as conn:
        merchant, assets = new_gmv_merchant(conn, contract, assets=2)
        model = Model(sc, merchant)
        months = [date(year, 10, 1), date(year, 11, 1), date(year, 12, 1)]
        for phase in range(3):
            for kind, path in _files(tmp_path, sc, merchant, assets, start, phase):
                import_file(conn, kind, path)
            model.run_phase(phase)
            if phase < 2:
                close_month(conn, merchant, months[phase])
                model.close(phase)
        conn.commit()
        as_of = start.date() + timedelta(days=sc.as_of_day)
        for index, month in enumerate(months):
            ours = build_statement(conn, merchant, month, as_of).as_dict()["currencies"]
            assert ours == model.statement(index), f"{month:%Y-%m} as of {as_of}"
