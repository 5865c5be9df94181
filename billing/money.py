"""Money and token amounts: Decimal only, whole minor units of their asset.

Minor units come from ``storage.currencies`` (JPY 0, USD 2, KWD 3); the asset ``TOKEN``
counts whole tokens. Rounding is half-even, and happens only where an amount is posted.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from fractions import Fraction
from functools import cache

from billing.errors import LedgerError
from storage.currencies import currency_digits, is_currency

TOKEN = "TOKEN"


@cache
def minor_units(asset: str) -> int:
    """Digits after the decimal point for ``asset``; unknown assets are refused."""
    if asset == TOKEN:
        return 0
    if not is_currency(asset):
        raise LedgerError(f"unknown currency {asset!r}: use an ISO 4217 code such as USD")
    return currency_digits(asset)


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


def round_exact(amount: Fraction | Decimal | int, asset: str) -> Decimal:
    """Round an exact amount (a fraction such as 10 / 3) half-even to the minor unit.

    Used where an amount comes from a division (an inverse FX rate, a quantity's share
    of a discount): the fraction is kept whole until this one rounding.
    """
    digits = minor_units(asset)
    minor = round(Fraction(amount) * 10**digits)  # Python rounds a Fraction half-even
    return Decimal(minor).scaleb(-digits)


def convert(amount: Fraction | Decimal, rate: Decimal, inverse: bool) -> Fraction:
    """``amount`` in another currency, exactly: times ``rate``, or divided by the rate
    of the opposite pair when only that one is known (``inverse``)."""
    return Fraction(amount) / Fraction(rate) if inverse else Fraction(amount) * Fraction(rate)


def require_whole_minor_units(amount: Decimal, asset: str, what: str) -> Decimal:
    """Refuse an amount with more decimals than its asset has (no silent rounding)."""
    if amount != round_to_minor(amount, asset):
        raise LedgerError(
            f"{what}: {amount} {asset} has more decimals than {asset}'s "
            f"{minor_units(asset)}-digit minor unit"
        )
    return amount
