"""Charges in the RaaS and GMV-share modes, posted to the ledger.

RaaS: a final material the merchant accepts is charged once, at the contract's price
for its format and duration; the idempotency key is the material, so re-deliveries and
replays charge nothing. GMV share: commission accrues to revenue and refunds claw it
back; attribution decides the amounts, these entries post them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import psycopg

from billing.contracts import GmvShareTerms, contract_at
from billing.errors import LedgerError
from billing.ledger import Entry, Posted, Posting, post
from billing.money import round_exact


def charge_accepted_material(
    conn: psycopg.Connection,
    merchant_id: str,
    asset_id: int,
    ad_format: str,
    duration_s: int,
    accepted_on: date,
    motion: bool = False,
) -> Posted:
    """``motion``: the final was rendered by builtin:motion (the contract's motion share)."""
    version, contract = contract_at(conn, merchant_id, accepted_on)
    if "raas" not in contract.modes:
        raise LedgerError(f"merchant {merchant_id}: contract v{version} does not bill RaaS")
    price = contract.raas_price(ad_format, duration_s, motion)
    entry = Entry(
        idempotency_key=f"raas:{merchant_id}:{asset_id}",
        merchant_id=merchant_id,
        code="raas_charge",
        effective_date=accepted_on,
        postings=(
            Posting("receivable", contract.currency, "D", price),
            Posting("revenue_raas", contract.currency, "C", price),
        ),
        event={
            "asset_id": asset_id,
            "format": ad_format,
            "duration_s": duration_s,
            "contract_version": version,
            **({"motion": True} if motion else {}),
        },
    )
    return post(conn, entry, late="adjust")


def gmv_commission(
    terms: GmvShareTerms, month_net_gmv: Fraction | Decimal, currency: str
) -> Decimal:
    """Commission on a calendar month's attributed net GMV under the rate schedule.

    ``flat``: one rate. ``volume``: the rate of the highest tier reached applies to all of
    it. ``graduated``: each slice of GMV at its own tier's rate. ``month_net_gmv`` is
    exact (a fraction when lines were divided by an FX rate); the result is rounded
    half-even once.
    """
    net = Fraction(month_net_gmv)
    if net <= 0:
        return round_exact(0, currency)
    tiers = terms.tiers
    if terms.schedule in ("flat", "volume"):
        rate = max((t for t in tiers if net >= t.from_gmv), key=lambda t: t.from_gmv).rate
        return round_exact(net * Fraction(rate), currency)
    total = Fraction(0)
    for tier, upper in zip(tiers, [t.from_gmv for t in tiers[1:]] + [None], strict=True):
        top = net if upper is None else min(net, Fraction(upper))
        if top > tier.from_gmv:
            total += (top - Fraction(tier.from_gmv)) * Fraction(tier.rate)
    return round_exact(total, currency)


def commission_entry(
    merchant_id: str,
    idempotency_key: str,
    amount: Decimal,
    currency: str,
    effective_date: date,
    event: dict,
    code: str | None = None,
) -> Entry:
    """Commission owed (positive) or given back (negative), as a ledger entry."""
    if amount > 0:
        postings = (
            Posting("receivable", currency, "D", amount),
            Posting("revenue_gmv_share", currency, "C", amount),
        )
    else:
        postings = (
            Posting("commission_clawback", currency, "D", -amount),
            Posting("receivable", currency, "C", -amount),
        )
    code = code or ("gmv_commission" if amount > 0 else "gmv_clawback")
    return Entry(idempotency_key, merchant_id, code, effective_date, postings, event=event)
