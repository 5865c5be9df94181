"""ISO 4217 currencies and their minor units, from Babel's CLDR data.

Reference data, not domain logic: catalog reads prices with it, billing posts amounts
with it, composer may format with it. JPY has 0 digits, USD 2, KWD 3. Each package
decides what an unknown code means for its own users.
"""

from __future__ import annotations

from functools import cache

from babel.numbers import get_currency_precision, list_currencies


@cache
def known_currencies() -> frozenset[str]:
    """Every ISO 4217 code Babel knows."""
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return code in known_currencies()


@cache
def currency_digits(code: str) -> int:
    """Digits after the decimal point for a known currency (its minor unit)."""
    return get_currency_precision(code)
