"""Prices as feeds write them: ``"15.00 USD"``, ``"USD 15.00"``, ``"12,99 EUR"``, ``"4.500 KWD"``.

Amounts become ``Decimal`` with their ISO 4217 currency; the currency's minor unit
(``storage.currencies``) decides how many decimals are allowed, and how a lone ``,`` or
``.`` is read. A form that could mean two amounts is refused rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache

import numpy as np

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


# The plain form almost every feed row uses ("15.00 USD", "1299 JPY"): read for a whole
# column at once. Anything else goes through ``parse_price``, one call per distinct value.
_PLAIN = r"^(?P<whole>0|[1-9][0-9]{0,13})(?:\.(?P<fraction>[0-9]{1,4}))? ?(?P<currency>[A-Z]{3})$"
SCALE = 4  # the most decimals a currency has (CLF): amounts compare as integers of 1/10^4
MISSING, PARSED, BAD, NO_CURRENCY = 0, 1, 2, 3


@dataclass
class PriceColumn:
    """A column of prices: per row its state, amount as text (exact, as ``str(Decimal)``),
    currency, and amount in 1/10^SCALE units for comparing."""

    state: np.ndarray  # MISSING, PARSED, BAD or NO_CURRENCY
    amount: np.ndarray  # str or None
    currency: np.ndarray  # str or None
    scaled: np.ndarray  # int64, or Python ints where an amount is beyond int64


def read_prices(values: list | np.ndarray, default_currency: str | None) -> PriceColumn:
    """Read a column of prices with the meaning of ``parse_price`` (missing or blank = MISSING).

    Arrow's regex engine reads the plain form; a plain price whose decimals do not fit its
    currency, and every other form, is read by ``parse_price`` (cached per value).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(values)
    text = pa.array([v if v.__class__ is str else None for v in values], type=pa.string())
    parts = pc.extract_regex(text, _PLAIN)
    whole, fraction = parts.field("whole"), parts.field("fraction").fill_null("")
    matched = parts.is_valid().to_numpy(zero_copy_only=False)
    places = np.asarray(pc.utf8_length(parts.field("fraction")).fill_null(0), dtype=np.int64)
    # per distinct currency: its digits (-1: unknown) and one string object for every row
    codes = pc.dictionary_encode(parts.field("currency"))
    found = [*codes.dictionary.to_pylist(), None]  # a row without a match takes the last
    row_codes = codes.indices.fill_null(len(found) - 1).to_numpy()
    known = known_currencies()
    digits = np.array([currency_digits(c) if c in known else -1 for c in found[:-1]] + [-1])
    digits = digits[row_codes]
    # decimals that fit the currency; three of them only where the currency has three
    fast = matched & (places <= digits) & ((places != 3) | (digits == 3))
    state = np.full(n, MISSING, dtype=np.int8)
    state[fast] = PARSED
    take = pa.array(fast)  # (a struct's fields hold "" where the struct is null)
    with_point = pc.binary_join_element_wise(whole, fraction, ".")
    amounts = pc.if_else(pa.array(fast & (places > 0)), with_point, whole)
    amount = pc.if_else(take, amounts, pa.scalar(None, pa.string()))
    amount = amount.to_numpy(zero_copy_only=False)
    out_currency = np.array(found, dtype=object)[np.where(fast, row_codes, len(found) - 1)]
    padded = pc.utf8_rpad(fraction.filter(take), SCALE, "0")
    scaled = np.zeros(n, dtype=np.int64)
    scaled[fast] = np.asarray(pc.cast(whole.filter(take), pa.int64())) * 10**SCALE + np.asarray(
        pc.cast(padded, pa.int64())
    )
    # the rest of the text (missing values already are MISSING, None, None, 0)
    rest = np.flatnonzero(~fast & text.is_valid().to_numpy(zero_copy_only=False))
    slow = [_read_one(values[i], default_currency) for i in rest]
    wide = [s for _, _, _, s in slow if s is not None and not -(2**62) < s < 2**62]
    if wide:
        scaled = scaled.astype(object)
    for i, (row_state, row_amount, row_currency, row_scaled) in zip(rest, slow, strict=True):
        state[i], amount[i], out_currency[i] = row_state, row_amount, row_currency
        if row_scaled is not None:
            scaled[i] = row_scaled
    return PriceColumn(state, amount, out_currency, scaled)


_NONE = (MISSING, None, None, None)


@cache
def _read_one(value: str, default_currency: str | None) -> tuple:
    if not value.strip():
        return _NONE
    try:
        amount, currency = parse_price(value.strip(), default_currency)
    except NoCurrency:
        return NO_CURRENCY, None, None, None
    except PriceError:
        return BAD, None, None, None
    sign, digits, exponent = amount.as_tuple()  # exact at any length (no context rounding)
    scaled = int("".join(map(str, digits)) or "0") * 10 ** (int(exponent) + SCALE)
    return PARSED, str(amount), currency, -scaled if sign else scaled
