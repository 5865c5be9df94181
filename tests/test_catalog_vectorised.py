"""The vectorised normalising (Arrow compute on whole columns) means exactly what the
row-by-row rules mean: prices, HTML descriptions and trimming, on adversarial text."""

from __future__ import annotations

from decimal import Decimal, localcontext

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.money import (
    BAD,
    MISSING,
    NO_CURRENCY,
    PARSED,
    SCALE,
    NoCurrency,
    PriceError,
    parse_price,
    read_prices,
)
from catalog.normalize import WHITESPACE, _plain_text, _strip, plain_texts

AMOUNTS = ["0", "00", "1", "15", "15.0", "15.00", "15.000", "15.0000", "15.00000", "1,5"]
AMOUNTS += ["1.234", "1,234.56", "1.234,56", "-3.00", "007", "0.00", "99999999999999", ".5"]
AMOUNTS += ["999999999999999", "123456789012345678901234567890.12", "1'000.50", "1 000"]
CURRENCIES = ["USD", "JPY", "KWD", "CLF", "EUR", "XXQ", "usd", ""]
SPACES = ["", " ", "  ", "\t", "\u00a0", "\u3000"]


@st.composite
def price_texts(draw) -> object:
    amount, currency = draw(st.sampled_from(AMOUNTS)), draw(st.sampled_from(CURRENCIES))
    gap, edge = draw(st.sampled_from(SPACES)), draw(st.sampled_from(SPACES))
    shape = draw(st.sampled_from(["post", "pre", "bare", "odd"]))
    if shape == "odd":
        return draw(st.one_of(st.none(), st.just(5), st.text(max_size=12)))
    text = {"post": amount + gap + currency, "pre": currency + gap + amount, "bare": amount}
    return edge + text[shape] + draw(st.sampled_from(SPACES))


def _row_by_row(value: object, currency: str | None) -> tuple:
    if not isinstance(value, str) or not value.strip():
        return MISSING, None, None, None
    try:
        amount, code = parse_price(value.strip(), currency)
    except NoCurrency:
        return NO_CURRENCY, None, None, None
    except PriceError:
        return BAD, None, None, None
    with localcontext(prec=200):  # exact
        return PARSED, str(amount), code, amount.scaleb(SCALE)


@settings(max_examples=300, deadline=None)
@given(st.lists(price_texts(), max_size=40), st.sampled_from([None, "USD", "JPY", "KWD"]))
def test_read_prices_means_parse_price_row_by_row(values, currency):
    column = read_prices(values, currency)
    for i, value in enumerate(values):
        state, amount, code, scaled = _row_by_row(value, currency)
        assert (column.state[i], column.amount[i], column.currency[i]) == (state, amount, code)
        if state == PARSED:
            assert Decimal(int(column.scaled[i])) == scaled  # exact, for comparing prices


def test_read_prices_keeps_amounts_exact_beyond_64_bits():
    column = read_prices(["123456789012345678901234567890.12 USD", "1.00 USD"], None)
    assert list(column.amount) == ["123456789012345678901234567890.12", "1.00"]
    assert column.scaled[0] > column.scaled[1]


HTML_PIECES = ["<p>", "</p>", "<br/>", "<BR >", "< br>", "<bra>", "</div>", "</li>", "</h3>"]
HTML_PIECES += ["<b>", "</b>", "<script>x<p>y</script >", "<STYLE>a{}</style>", "<script>"]
HTML_PIECES += ["<style>x<script>y</style>z</script>", "&amp;", "&nbsp;", "&#10;", "<", ">"]
HTML_PIECES += [" ", "  ", "\t", "\r", "\n", "\x0b", "\x0c", "\x1c", "\x1f", "\u00a0", "\u2003"]
HTML_PIECES += ["word", "Ünïcode", "日本語", "<scriptä>", "<ſcript>k</script>", "_", "9"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(HTML_PIECES)).map("".join))))
def test_plain_texts_mean_plain_text_row_by_row(values):
    expected = [None if v is None else _plain_text(v) for v in values]
    assert list(plain_texts(np.array(values, dtype=object))) == expected


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(), st.lists(st.sampled_from(HTML_PIECES)).map("".join))
    )
)
def test_strip_means_str_strip_row_by_row(values):
    expected = [(v.strip() or None) if isinstance(v, str) else None for v in values]
    assert list(_strip(pd.Series(values, dtype=object))) == expected


def test_whitespace_is_what_str_strip_strips():
    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == WHITESPACE
