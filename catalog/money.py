"""Prices as feeds write them: ``"15.00 USD"``, ``"USD 15.00"``, ``"12,99 EUR"``, ``"4.500 KWD"``.

Amounts become ``Decimal`` with their ISO 4217 currency; the currency's minor unit
(``storage.currencies``) decides how many decimals are allowed, and how a lone ``,`` or
``.`` is read. A form that could mean two amounts is refused rather than guessed.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache

from storage.currencies import currency_digits, known_currencies

_PRICE = re.compile(
    r"^\s*(?:(?P<pre>[A-Z]{3})\s*)?(?P<amount>-?[0-9][0-9.,' ]*?)\s*(?P<post>[A-Z]{3})?\s*$"
)


class PriceError(ValueError):
    """A price that cannot be read; the message says why."""


class NoCurrency(PriceError):
    """A price without a currency, for a merchant without a default one."""


@cache
def parse_price(text: str, default_currency: str | None = None) -> tuple[Decimal, str]:
    """Read a price; raise PriceError naming the problem. Cached: feeds repeat prices."""
    match = _PRICE.match(text)
    if not match or (match["pre"] and match["post"]):
        raise PriceError(f"{text!r} is not a price like '15.00 USD'")
    currency = match["pre"] or match["post"] or default_currency
    if not currency:
        raise NoCurrency(f"{text!r} has no currency and the merchant has no default")
    if currency not in known_currencies():
        raise PriceError(f"unknown currency {currency!r} in {text!r}")
    digits = currency_digits(currency)
    amount = _read_amount(match["amount"].replace(" ", "").replace("'", ""), digits, text)
    if -amount.as_tuple().exponent > digits:
        raise PriceError(f"{text!r} has more decimals than {currency}'s {digits}")
    return amount, currency


def _read_amount(raw: str, digits: int, text: str) -> Decimal:
    dot, comma = raw.rfind("."), raw.rfind(",")
    if dot >= 0 and comma >= 0:  # both: the last one is the decimal separator
        decimal_sep = "." if dot > comma else ","
    elif dot >= 0 or comma >= 0:
        sep = "." if dot >= 0 else ","
        fraction = raw.rpartition(sep)[2]
        if raw.count(sep) > 1:
            decimal_sep = None  # 1,234,567 or 1.234.567: grouping only
        elif len(fraction) == 3 and digits != 3:
            raise PriceError(
                f"{text!r} is ambiguous: is {sep!r} a decimal or a thousands separator? "
                "Write the amount with its currency's decimals, e.g. '4500.00' or '4.50'"
            )
        else:
            decimal_sep = sep
    else:
        decimal_sep = None
    group_sep = {".": ",", ",": ".", None: ",."}[decimal_sep]
    cleaned = raw.translate(str.maketrans("", "", group_sep))
    if decimal_sep == ",":
        cleaned = cleaned.replace(",", ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise PriceError(f"{text!r} is not a price like '15.00 USD'") from None
