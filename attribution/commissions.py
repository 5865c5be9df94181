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

from attribution.queries import query
from billing.charges import commission_entry
from billing.contracts import Contract
from billing.ledger import Entry, Posted, post_entries
from billing.money import convert, round_exact

POST_CHUNK = 5000


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


def accrue(conn: psycopg.Connection, merchant_ids: list[str]) -> Accrual:
    """Attribute open orders, accrue their lines and claw back their refunds."""
    result = Accrual()
    if not merchant_ids:
        return result
    params = {"merchant_ids": merchant_ids}
    result.attributed_orders = conn.execute(query("attribute_open_orders"), params).rowcount
    lines = conn.execute(query("open_lines"), params).fetchall()
    contracts = _contracts(conn, lines)
    decided = [_decide(line, contracts) for line in lines]
    result.late += _post_accruals(conn, decided)
    for line in decided:
        if line["status"] == "accrued":
            result.accrued_lines += 1
            ccy = line["contract_currency"]
            result.commission[ccy] = result.commission.get(ccy, Decimal(0)) + line["commission"]
        elif line["status"] == "waiting":
            result.waiting[line["reason"]] = result.waiting.get(line["reason"], 0) + 1
        elif line["status"] == "unattributed":
            result.unattributed_lines += 1
    result.clawbacks, late = settle_refunds(conn, merchant_ids)
    result.late += late
    return result


Contracts = dict[tuple[str, int], Contract]


def _contracts(conn: psycopg.Connection, lines: list[dict]) -> Contracts:
    """The terms of every contract version the lines name, parsed once each."""
    wanted = sorted(
        {
            (line["merchant_id"], line["contract_version"])
            for line in lines
            if line["contract_version"] is not None
        }
    )
    rows = conn.execute(
        query("contract_versions"),
        {"merchant_ids": [m for m, _ in wanted], "versions": [v for _, v in wanted]},
    )
    return {(r["merchant_id"], r["version"]): Contract.model_validate(r["terms"]) for r in rows}


def _decide(line: dict, contracts: Contracts) -> dict:
    """The new state of one open line (commission computed, not yet posted)."""
    base = {
        "order_id": line["order_id"],
        "line_id": line["line_id"],
        "asset_id": None,
        "contract_version": None,
        "contract_currency": None,
        "fx_rate": None,
        "fx_inverse": None,
        "net_gmv": None,
        "rate": None,
        "commission": None,
        "txn_id": None,
        "merchant_id": line["merchant_id"],
        "ordered_at": line["ordered_at"],
    }
    on = utc_date(line["ordered_at"])
    if line["asset_id"] is None:
        return {**base, "status": "unattributed", "reason": None}
    base["asset_id"] = line["asset_id"]
    if line["contract_version"] is None:
        return {**base, "status": "waiting", "reason": f"no contract in force on {on}"}
    contract = contracts[(line["merchant_id"], line["contract_version"])]
    base |= {"contract_version": line["contract_version"], "contract_currency": contract.currency}
    if contract.gmv_share is None or "gmv_share" not in contract.modes:
        return {**base, "status": "not_billed", "reason": "the contract has no GMV share"}
    same = line["currency"] == contract.currency
    fx_rate = Decimal(1) if same else line["fx_rate"]
    if fx_rate is None:
        reason = f"no FX rate {line['currency']}->{contract.currency} for {on}"
        return {**base, "status": "waiting", "reason": reason}
    fx_inverse = False if same else line["fx_inverse"]
    net = line["quantity"] * line["unit_price"] - line["discount"]
    exact = convert(net, fx_rate, fx_inverse)
    rate = contract.gmv_share.tiers[0].rate
    commission = round_exact(exact * Fraction(rate), contract.currency)
    return {
        **base,
        "status": "accrued",
        "reason": None,
        "fx_rate": fx_rate,
        "fx_inverse": fx_inverse,
        "net_gmv": round_exact(exact, contract.currency),
        "rate": rate,
        "commission": commission,
    }


def _post_accruals(conn: psycopg.Connection, decided: list[dict]) -> list[dict]:
    """Post the accrued lines' commissions in chunks, then store every line's state;
    return notes on those posted into a later month (theirs is closed)."""
    late = []
    for chunk in _chunks([d for d in decided if d["status"] == "accrued" and d["commission"]]):
        entries = [
            commission_entry(
                d["merchant_id"],
                f"gmv:{d['merchant_id']}:{d['order_id']}:{d['line_id']}",
                d["commission"],
                d["contract_currency"],
                utc_date(d["ordered_at"]),
                {
                    "order_id": d["order_id"],
                    "line_id": d["line_id"],
                    "asset_id": d["asset_id"],
                    "net_gmv": str(d["net_gmv"]),
                    "rate": str(d["rate"]),
                },
            )
            for d in chunk
        ]
        for line, posted in zip(chunk, post_entries(conn, entries, late="adjust"), strict=True):
            line["txn_id"] = posted.txn_id
            note = late_note(f"order {line['order_id']} line {line['line_id']}", posted)
            if note:
                late.append(note)
    conn.execute(query("create_line_results_staging"))
    columns = [
        "order_id",
        "line_id",
        "status",
        "reason",
        "asset_id",
        "contract_version",
        "contract_currency",
        "fx_rate",
        "fx_inverse",
        "net_gmv",
        "rate",
        "commission",
        "txn_id",
    ]
    with conn.cursor().copy(f"COPY line_results ({', '.join(columns)}) FROM STDIN") as copy:
        for line in decided:
            copy.write_row([line[c] for c in columns])
    conn.execute(query("apply_line_results"))
    return late


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), POST_CHUNK):
        yield items[start : start + POST_CHUNK]


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
