"""Commission on attributed order lines, and clawbacks on their refunds.

A line accrues when it is attributed and has a contract with GMV-share terms and, for a
foreign currency, an FX rate for the order's UTC date. Its commission is computed from
the exact net GMV (quantity x unit_price - discount, converted into the contract
currency: times the direct rate, or divided by the opposite pair's rate) times the
schedule's first-tier rate, and rounded half-even once: one ledger transaction per line,
dated the order's UTC date, or the first day of the first open month when that month is
closed (the line then names the period it belongs to). Lines that wait say why.

A refund claws back the commission of the refunded part at the rate the line accrued
at. Clawbacks are computed on the cumulative refunded amount of the line (exact, rounded
once), each posting the difference from the ones posted before it, so partial refunds
never claw back more than the line accrued in total, and a full refund claws back
exactly what accrued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import psycopg
from pydantic import ValidationError

from attribution.queries import query
from billing.charges import commission_entry
from billing.contracts import Contract
from billing.errors import LedgerError
from billing.ledger import Entry, Posted, open_bulk, post_entries, post_staged
from billing.money import convert, minor_units, round_exact


@dataclass
class Accrual:
    """What one attribution pass did."""

    attributed_orders: int = 0
    accrued_lines: int = 0
    commission: dict[str, Decimal] = field(default_factory=dict)
    waiting: dict[str, int] = field(default_factory=dict)  # reason -> lines
    unattributed_lines: int = 0
    clawbacks: int = 0
    # what was posted into a later month because its own month is closed
    late: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "attributed_orders": self.attributed_orders,
            "accrued_lines": self.accrued_lines,
            "commission": {ccy: str(amount) for ccy, amount in sorted(self.commission.items())},
            "waiting": dict(sorted(self.waiting.items())),
            "unattributed_lines": self.unattributed_lines,
            "clawbacks": self.clawbacks,
            "late": self.late,
        }


def late_note(what: str, posted: Posted) -> dict | None:
    """``{"what", "period", "posted_into"}`` for a posting moved out of a closed month."""
    if not posted.created or posted.adjusts_period is None:
        return None
    return {
        "what": what,
        "period": f"{posted.adjusts_period:%Y-%m}",
        "posted_into": f"{posted.effective_date:%Y-%m}",
    }


def late_text(note: dict) -> str:
    """``order o1 line 1: posted into 2026-12: 2026-11 is closed``."""
    return f"{note['what']}: posted into {note['posted_into']}: {note['period']} is closed"


def utc_date(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def accrue(conn: psycopg.Connection, merchant_ids: list[str], new_lines: bool = False) -> Accrual:
    """Attribute open orders, accrue their lines and claw back their refunds.

    Set-based from import to postings: one statement attributes the open orders, one
    decides every open line and computes its commission (exact, rounded half-even once,
    in PostgreSQL), the commissions go through the ledger's bulk path in one batch, and
    one statement stores the lines' new state. Python reads only the contract versions
    and the summary. With ``new_lines``, the orders file's new lines wait in
    ``new_order_lines`` (attribution.staging) and are inserted here with their state,
    so each is written once instead of inserted and then updated.
    """
    result = Accrual()
    if not new_lines:
        conn.execute(query("no_new_order_lines"))
    if not merchant_ids:
        return result
    params = {"merchant_ids": merchant_ids}
    result.attributed_orders = conn.execute(query("attribute_open_orders"), params).rowcount
    broken = _stage_contract_terms(conn, merchant_ids)
    conn.execute(query("drop_line_results"))
    conn.execute(query("decide_open_lines"), params)
    _refuse_broken_contracts(conn, broken)
    open_bulk(conn)
    conn.execute(query("stage_commissions"))
    post_staged(conn, late="adjust")
    result.late += [
        {
            "what": f"order {row['order_id']} line {row['line_id']}",
            "period": f"{row['adjusts_period']:%Y-%m}",
            "posted_into": f"{row['effective_date']:%Y-%m}",
        }
        for row in conn.execute(query("moved_lines"))
    ]
    conn.execute(query("apply_line_results"))
    if new_lines:
        conn.execute(query("insert_new_lines"))
        conn.execute(query("no_new_order_lines"))  # inserted: later passes read order_lines
    for row in conn.execute(query("line_results_summary")):
        if row["status"] == "accrued":
            result.accrued_lines += row["lines"]
            ccy = row["contract_currency"]
            result.commission[ccy] = result.commission.get(ccy, Decimal(0)) + row["commission"]
        elif row["status"] == "waiting":
            result.waiting[row["reason"]] = result.waiting.get(row["reason"], 0) + row["lines"]
        elif row["status"] == "unattributed":
            result.unattributed_lines += row["lines"]
    result.clawbacks, late = settle_refunds(conn, merchant_ids)
    result.late += late
    return result


def _stage_contract_terms(
    conn: psycopg.Connection, merchant_ids: list[str]
) -> dict[tuple[str, int], Exception]:
    """What the commission needs from each contract version of these merchants, parsed
    and validated once per version (not per line): currency, whether it bills a GMV
    share, the first tier's rate and the currency's minor units. Versions that no longer
    parse are returned with their error, raised only if an open line needs one."""
    conn.execute(query("create_contract_terms"))
    rows = conn.execute(query("merchant_contracts"), {"merchant_ids": merchant_ids}).fetchall()
    broken: dict[tuple[str, int], Exception] = {}
    with conn.cursor().copy("COPY contract_terms FROM STDIN") as copy:
        for row in rows:
            try:
                contract = Contract.model_validate(row["terms"])
                digits = minor_units(contract.currency)
            except (ValidationError, LedgerError) as exc:  # raised if a line needs it
                broken[(row["merchant_id"], row["version"])] = exc
                continue
            billed = contract.gmv_share is not None and "gmv_share" in contract.modes
            rate = contract.gmv_share.tiers[0].rate if contract.gmv_share else None
            copy.write_row(
                (
                    row["merchant_id"],
                    row["version"],
                    contract.currency,
                    billed,
                    str(rate) if rate is not None else None,
                    digits,
                )
            )
    return broken


def _refuse_broken_contracts(
    conn: psycopg.Connection, broken: dict[tuple[str, int], Exception]
) -> None:
    """Raise the parse error of a contract version that a decided line needs."""
    if not broken:
        return
    row = conn.execute(
        query("lines_on_contract_versions"),
        {"merchant_ids": [m for m, _ in broken], "versions": [v for _, v in broken]},
    ).fetchone()
    if row is not None:
        raise broken[(row["merchant_id"], row["contract_version"])]


def settle_refunds(conn: psycopg.Connection, merchant_ids: list[str]) -> tuple[int, list[dict]]:
    """Post clawbacks for pending refunds of accrued lines: how many were posted, and
    notes on those posted into a later month (theirs is closed)."""
    rows = conn.execute(query("refunds_to_settle"), {"merchant_ids": merchant_ids}).fetchall()
    by_line: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        by_line[(row["order_id"], row["line_id"])].append(row)
    entries, settled = [], []
    for refunds in by_line.values():
        for refund, clawback in _clawbacks(refunds):
            settled.append((refund, clawback))
            if clawback:
                entries.append(_clawback_entry(refund, clawback))
    posted_entries = post_entries(conn, entries, late="adjust")
    posted = {p.idempotency_key: p.txn_id for p in posted_entries}
    late = [
        note
        for entry, done in zip(entries, posted_entries, strict=True)
        if (note := late_note(f"refund {entry.event['refund_id']}", done))
    ]
    with conn.cursor() as cursor:  # one round trip for the batch, not one per refund
        cursor.executemany(
            query("settle_refund"),
            [
                {
                    "refund_id": refund["refund_id"],
                    "status": "not_billed"
                    if refund["line_status"] == "not_billed"
                    else "clawed_back",
                    "clawback": clawback,
                    "txn_id": posted.get(_clawback_key(refund)),
                }
                for refund, clawback in settled
            ],
        )
    return len(entries), late


def _clawbacks(refunds: list[dict]) -> Iterator[tuple[dict, Decimal | None]]:
    """(refund, clawback) for the pending refunds of one line that can be settled now.

    Refunds settled before count first, whatever their dates, so each new clawback is
    the cumulative total now minus what was already clawed back.
    """
    line = refunds[0]
    if line["line_status"] not in ("accrued", "not_billed"):
        return  # the line may still accrue; its refunds wait for it
    if line["line_status"] == "not_billed":
        for refund in refunds:
            if refund["status"] == "pending":
                yield refund, None
        return
    net = Fraction(line["line_quantity"] * line["unit_price"] - line["discount"])
    settled = [r for r in refunds if r["status"] != "pending"]
    quantity = sum((r["quantity"] or 0 for r in settled), 0)
    amount = sum((Fraction(r["amount"] or 0) for r in settled), Fraction(0))
    clawed = sum((r["clawback"] or Decimal(0) for r in settled), Decimal(0))
    for refund in (r for r in refunds if r["status"] == "pending"):
        quantity += refund["quantity"] or 0
        amount += Fraction(refund["amount"] or 0)
        refunded_net = quantity * net / line["line_quantity"] + amount
        exact = convert(refunded_net, line["fx_rate"], line["fx_inverse"])
        total = round_exact(exact * Fraction(line["rate"]), line["contract_currency"])
        total = min(total, line["commission"])
        yield refund, max(total - clawed, Decimal(0))
        clawed = max(total, clawed)


def _clawback_key(refund: dict) -> str:
    return f"clawback:{refund['merchant_id']}:{refund['refund_id']}"


def _clawback_entry(refund: dict, clawback: Decimal) -> Entry:
    return commission_entry(
        refund["merchant_id"],
        _clawback_key(refund),
        -clawback,
        refund["contract_currency"],
        utc_date(refund["refunded_at"]),
        {
            "refund_id": refund["refund_id"],
            "order_id": refund["order_id"],
            "line_id": refund["line_id"],
            "asset_id": refund["asset_id"],
        },
    )
