"""Commission on attributed order lines, and clawbacks on their refunds.

A line accrues when it is attributed and has a contract with GMV-share terms and, for a
foreign currency, an FX rate for the order's UTC date: net GMV (quantity x unit_price
- discount) is converted into the contract currency and rounded half-even to its minor
unit, then the schedule's first-tier rate is applied and rounded again; one ledger
transaction per line, dated the order's UTC date. Lines that wait say why.

A refund claws back the commission of the refunded part at the rate the line accrued
at. Clawbacks are computed on the cumulative refunded amount of the line, each posting
the difference from the ones before it, so partial refunds never claw back more than
the line accrued in total, and a full refund claws back exactly what accrued.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg

from attribution.queries import query
from billing.charges import commission_entry
from billing.contracts import Contract
from billing.ledger import Entry, post_entries
from billing.money import round_to_minor

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

    def as_dict(self) -> dict:
        return {
            "attributed_orders": self.attributed_orders,
            "accrued_lines": self.accrued_lines,
            "commission": {ccy: str(amount) for ccy, amount in sorted(self.commission.items())},
            "waiting": dict(sorted(self.waiting.items())),
            "unattributed_lines": self.unattributed_lines,
            "clawbacks": self.clawbacks,
        }


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
    _post_accruals(conn, decided)
    for line in decided:
        if line["status"] == "accrued":
            result.accrued_lines += 1
            ccy = line["contract_currency"]
            result.commission[ccy] = result.commission.get(ccy, Decimal(0)) + line["commission"]
        elif line["status"] == "waiting":
            result.waiting[line["reason"]] = result.waiting.get(line["reason"], 0) + 1
        elif line["status"] == "unattributed":
            result.unattributed_lines += 1
    result.clawbacks = settle_refunds(conn, merchant_ids)
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
    fx_rate = Decimal(1) if line["currency"] == contract.currency else line["fx_rate"]
    if fx_rate is None:
        reason = f"no FX rate {line['currency']}->{contract.currency} for {on}"
        return {**base, "status": "waiting", "reason": reason}
    net = line["quantity"] * line["unit_price"] - line["discount"]
    net_gmv = round_to_minor(net * fx_rate, contract.currency)
    rate = contract.gmv_share.tiers[0].rate
    commission = round_to_minor(net_gmv * rate, contract.currency)
    return {
        **base,
        "status": "accrued",
        "reason": None,
        "fx_rate": fx_rate,
        "net_gmv": net_gmv,
        "rate": rate,
        "commission": commission,
    }


def _post_accruals(conn: psycopg.Connection, decided: list[dict]) -> None:
    """Post the accrued lines' commissions in chunks, then store every line's state."""
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
        "net_gmv",
        "rate",
        "commission",
        "txn_id",
    ]
    with conn.cursor().copy(f"COPY line_results ({', '.join(columns)}) FROM STDIN") as copy:
        for line in decided:
            copy.write_row([line[c] for c in columns])
    conn.execute(query("apply_line_results"))


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), POST_CHUNK):
        yield items[start : start + POST_CHUNK]


def settle_refunds(conn: psycopg.Connection, merchant_ids: list[str]) -> int:
    """Post clawbacks for pending refunds of accrued lines; return how many were posted."""
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
    posted = {p.idempotency_key: p.txn_id for p in post_entries(conn, entries, late="adjust")}
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
    return len(entries)


def _clawbacks(refunds: list[dict]) -> Iterator[tuple[dict, Decimal | None]]:
    """(refund, clawback) for the pending refunds of one line that can be settled now."""
    line = refunds[0]
    if line["line_status"] not in ("accrued", "not_billed"):
        return  # the line may still accrue; its refunds wait for it
    net = line["line_quantity"] * line["unit_price"] - line["discount"]
    quantity = amount = clawed = Decimal(0)
    for refund in refunds:
        quantity += refund["quantity"] or 0
        amount += refund["amount"] or 0
        if refund["status"] != "pending":
            clawed += refund["clawback"] or 0
            continue
        if line["line_status"] == "not_billed":
            yield refund, None
            continue
        refunded_net = quantity * net / line["line_quantity"] + amount
        ccy = line["contract_currency"]
        total = round_to_minor(
            round_to_minor(refunded_net * line["fx_rate"], ccy) * line["rate"], ccy
        )
        total = min(total, line["commission"])
        yield refund, total - clawed
        clawed = total


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
