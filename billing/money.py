"""Money and token amounts: Decimal only, whole minor units of their asset.

Minor units come from Babel's CLDR data (JPY 0, USD 2, KWD 3); the asset ``TOKEN``
counts whole tokens. Rounding is half-even, and happens only where an amount is posted.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from babel.numbers import get_currency_precision, list_currencies

from billing.errors import LedgerError

TOKEN = "TOKEN"


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def minor_units(asset: str) -> int:
    """Digits after the decimal point for ``asset``; unknown assets are refused."""
    if asset == TOKEN:
        return 0
    if asset not in _currencies():
        raise LedgerError(f"unknown currency {asset!r}: use an ISO 4217 code such as USD")
    return get_currency_precision(asset)


def to_decimal(value: object, what: str) -> Decimal:
    if isinstance(value, float):
        raise LedgerError(f"{what}: {value!r} is a float; give money as a decimal string")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise LedgerError(f"{what}: {value!r} is not a decimal amount") from None


def round_to_minor(amount: Decimal, asset: str) -> Decimal:
    """Round half-even to the asset's minor unit: only at the moment of posting."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(asset)), rounding=ROUND_HALF_EVEN)


def require_whole_minor_units(amount: Decimal, asset: str, what: str) -> Decimal:
    """Refuse an amount with more decimals than its asset has (no silent rounding)."""
    if amount != round_to_minor(amount, asset):
        raise LedgerError(
            f"{what}: {amount} {asset} has more decimals than {asset}'s "
            f"{minor_units(asset)}-digit minor unit"
        )
    return amount
