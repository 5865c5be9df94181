"""Normalise a canonical chunk: prices to Decimal + currency, availability and condition
to Google's values, HTML descriptions to plain text (keeping the original), GTIN check
digits, and ``_ok_*`` flags for the checks pandas cannot express, for validation to read.

Text is kept byte-exact apart from trimming surrounding whitespace: right-to-left and
CJK titles are stored as given.
"""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from catalog.money import MISSING, NO_CURRENCY, PARSED, read_prices
from catalog.schema import CUSTOM_LABELS, VARIANT_ATTRIBUTES
from catalog.uploads import STORED

AVAILABILITY = {
    "in stock": "in_stock",
    "instock": "in_stock",
    "available": "in_stock",
    "available for order": "in_stock",
    "out of stock": "out_of_stock",
    "outofstock": "out_of_stock",
    "sold out": "out_of_stock",
    "discontinued": "out_of_stock",
    "preorder": "preorder",
    "pre order": "preorder",
    "backorder": "backorder",
    "back order": "backorder",
}
CONDITIONS = {"new", "refurbished", "used"}
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6])\b[^>]*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\r\f\v]+")


def normalize_chunk(raw: pd.DataFrame, default_currency: str | None) -> pd.DataFrame:
    """Return the chunk with normalised columns, ``_ok_*`` flags and ``STORED`` columns.

    Work is per distinct value where values repeat (prices, availability, conditions)
    and only on present values where most are missing (labels, attributes, GTINs).
    """
    out = raw.copy(deep=False)  # copy-on-write: columns assigned below leave ``raw`` as is
    for column in TRIMMED:
        out[column] = _strip(out[column])
    out["product_id"] = out["id"]
    html_text = out["description"]
    out["description"] = pd.Series(plain_texts(html_text.to_numpy()), html_text.index, object)
    out["description_html"] = _present(html_text, lambda v: v if "<" in v else None)
    for column in ("id", "title", "price"):  # what the merchant gave, before parsing
        out[f"_given_{column}"] = out[column]
    _prices(out, default_currency)
    out["availability"] = _distinct(out["availability"], _availability)
    out["condition"] = _distinct(out["condition"], str.lower)
    out["gtin"] = _present(out["gtin"], lambda v: re.sub(r"[\s-]", "", v) or None)
    out["_ok_gtin"] = _distinct(out["gtin"], gtin_is_valid, missing=True).astype(bool)
    out["additional_image_links"] = _present(out["additional_image_link"], _link_list, "[]")
    out["product_category"] = out["google_product_category"]
    out["custom_labels"] = _json_rows(out, CUSTOM_LABELS, as_list=True)
    out["attributes"] = _json_rows(out, [*VARIANT_ATTRIBUTES, "shipping"], as_list=False)
    out["content_hash"] = _content_hashes(out)
    return out


TRIMMED = (
    "id",
    "title",
    "description",
    "link",
    "image_link",
    "brand",
    "mpn",
    "item_group_id",
    "google_product_category",
    "product_type",
    "availability",
    "condition",
    "gtin",
    *CUSTOM_LABELS,
    *VARIANT_ATTRIBUTES,
)


# What Python's ``str.strip()`` strips: every character ``str.isspace()`` calls space.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _strip(column: pd.Series) -> pd.Series:
    """``v.strip() or None`` for text; anything else (a JSON number, a list) is None."""
    values = column.to_numpy()
    given = _texts(values)
    text = pc.utf8_trim(given, characters=WHITESPACE)
    if column.dtype == object and _strip_changes_nothing(values, given, text):
        return column  # the same strings: none made again from Arrow
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    return pd.Series(text.to_numpy(zero_copy_only=False), index=column.index, dtype=object)


def _strip_changes_nothing(values: np.ndarray, given: pa.Array, trimmed: pa.Array) -> bool:
    """Whether every value is text that trimming keeps as it is (not blank), or None: as
    most columns of most feeds are, whose values then stay the objects they are."""
    if given.null_count != np.count_nonzero(np.equal(values, None)):
        return False  # a number, a list or NaN: it becomes None
    kept = pc.and_(pc.equal(given, trimmed), pc.not_equal(trimmed, ""))
    return bool(pc.all(kept).as_py() is not False)


def _texts(values: np.ndarray) -> pa.Array:
    """An Arrow string array of the values; anything but text (a JSON number) is null."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([v if v.__class__ is str else None for v in values], type=pa.string())


def _present(column: pd.Series, function, missing: object = None) -> pd.Series:
    """Apply to present values only; missing ones become ``missing``."""
    values = [missing if v is None else function(v) for v in column]
    return pd.Series(values, index=column.index, dtype=object)


def _distinct(column: pd.Series, function, missing: object = None) -> pd.Series:
    """Apply once per distinct value: feeds repeat prices, availability and conditions."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    mapped = [function(v) for v in uniques] + [missing]  # code -1 (missing) takes the last
    values = [mapped[c] for c in codes]
    return pd.Series(values, index=column.index, dtype=object)


def _json_rows(out: pd.DataFrame, columns: list[str], as_list: bool) -> list[str]:
    empty = "[]" if as_list else "{}"
    present = out[columns].notna().any(axis=1).to_numpy()
    result = [empty] * len(out)
    rows = out[columns].to_numpy()
    for i in present.nonzero()[0]:
        pairs = [(k, v) for k, v in zip(columns, rows[i], strict=True) if v is not None]
        value = [v for _, v in pairs] if as_list else dict(pairs)
        result[i] = json.dumps(value, ensure_ascii=False)
    return result


# ``_plain_text``'s steps in RE2 (Arrow's regex engine), for ASCII text without entities,
# where RE2 and Python's ``re`` agree: no Unicode case folding or word boundaries, and
# whitespace spelled out as Python's ``\s`` (which includes \x1c-\x1f) rather than RE2's.
_ASCII_SPACE = r"[ \t\n\r\f\v\x1c-\x1f]"
_RE2_STEPS = [
    (r"(?is)<(?:script\b.*?</script|style\b.*?</style)" + _ASCII_SPACE + "*>", ""),
    (r"(?i)<" + _ASCII_SPACE + r"*(?:br|/p|/div|/li|/h[1-6])\b[^>]*>", "\n"),
    (r"<[^>]+>", ""),
    # runs of spaces become one space; a lone " " is left alone (replacing it with itself
    # took most of this step's time)
    (r"[ \t\r\f\v]{2,}|[\t\r\f\v]", " "),
    (r"(?m)^[ \x1c-\x1f]+|[ \x1c-\x1f]+$", ""),  # each line stripped
    (r"\n\n+", "\n"),  # empty lines dropped
]


def plain_texts(values: np.ndarray) -> np.ndarray:
    """``_plain_text`` of each value, vectorised where RE2 gives the same answer."""
    text = _texts(values)
    markup = pc.or_(pc.match_substring(text, "<"), pc.match_substring(text, "&"))
    easy = pc.and_(
        markup, pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring(text, "&")))
    )
    easy = easy.fill_null(False).to_numpy(zero_copy_only=False)
    out = np.array(values, dtype=object)  # without markup: unchanged
    if easy.any():
        done = text.filter(pa.array(easy))
        for pattern, replacement in _RE2_STEPS:
            done = pc.replace_substring_regex(done, pattern, replacement)
        done = pc.utf8_trim(done, characters="\n")
        done = pc.if_else(pc.equal(done, ""), pa.scalar(None, pa.string()), done)
        out[easy] = done.to_numpy(zero_copy_only=False)
    hard = markup.fill_null(False).to_numpy(zero_copy_only=False) & ~easy
    for i in np.flatnonzero(hard):
        out[i] = _plain_text(values[i])
    return out


def _plain_text(value: str | None) -> str | None:
    if not value or ("<" not in value and "&" not in value):
        return value
    text = _HIDDEN.sub("", value)
    text = _BLOCK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line) or None


def _availability(value: str | None) -> str | None:
    if value is None:
        return None
    key = re.sub(r"[_\-\s]+", " ", value.strip().lower())
    return AVAILABILITY.get(key, value.strip())


def _link_list(value: object) -> str:
    if isinstance(value, list):
        links = [v.strip() for v in value if isinstance(v, str) and v.strip()]
    elif isinstance(value, str):
        links = [v.strip() for v in value.split(",") if v.strip()]
    else:
        links = []
    return json.dumps(links, ensure_ascii=False)


def _prices(out: pd.DataFrame, default_currency: str | None) -> None:
    price = read_prices(out["price"].to_numpy(), default_currency)
    sale = read_prices(out["sale_price"].to_numpy(), default_currency)
    out["_ok_price"] = np.isin(price.state, (MISSING, PARSED))
    out["_ok_sale_price"] = np.isin(sale.state, (MISSING, PARSED))
    # A price without a currency is not a bad row but a missing setting: the upload
    # refuses the whole file and asks for one.
    out["_no_currency"] = (price.state == NO_CURRENCY) | (sale.state == NO_CURRENCY)
    has_price, has_sale = price.state == PARSED, sale.state == PARSED
    out["_ok_price_positive"] = ~has_price | (price.scaled > 0)
    out["_ok_sale_not_above_price"] = ~(has_price & has_sale) | (
        (sale.currency == price.currency) & (sale.scaled > 0) & (sale.scaled <= price.scaled)
    )
    out["currency"] = price.currency
    out["price"] = price.amount
    out["sale_price"] = sale.amount


def gtin_is_valid(gtin: str) -> bool:
    """GTIN-8/12/13/14 check digit (GS1 mod 10)."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


_HASH_KEYS = ("adreel-content-1", "adreel-content-2")
_HASHED = [c for c in STORED if c not in ("content_hash", "product_id")]


def _content_hashes(out: pd.DataFrame) -> np.ndarray:
    """128 bits of pandas' row hash (``hash_pandas_object`` of the columns as ``str``,
    two keys): enough to tell a change.

    The values must stay what they were, or every stored product reads as changed once,
    so this is pandas' own computation, reordered: each column's distinct values are found
    once (not once per key, and without converting Python strings to Arrow and back), and
    only they are hashed, with both keys.
    """
    n = len(out)
    columns = [_column_hashes(out[column], n) for column in _HASHED]
    first, second = (_combine([c[k] for c in columns], n) for k in range(len(_HASH_KEYS)))
    # f"{a:016x}{b:016x}" for the whole column: big-endian bytes, nibbles, hex digits
    both = np.stack([first, second], axis=1).astype(">u8")
    octets = both.view(np.uint8).reshape(n, 16)
    nibbles = np.stack([octets >> 4, octets & 15], axis=2).reshape(n, 32)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    return digits.view("S32").ravel().astype(str).astype(object)


def _column_hashes(column: pd.Series, n: int) -> list[np.ndarray]:
    """Per key, ``hash_array`` of the column as ``str``: each distinct value hashed, taken
    per row, missing values as the largest uint64 (as pandas does for Arrow strings)."""
    distinct, codes, missing = _distinct_text(column)
    hashes = []
    for key in _HASH_KEYS:
        if len(distinct):
            hashed = pd.util.hash_array(distinct, "utf8", key, categorize=False).take(codes)
        else:
            hashed = np.zeros(n, dtype=np.uint64)
        hashed[missing] = np.iinfo(np.uint64).max
        hashes.append(hashed)
    return hashes


def _distinct_text(column: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The column's distinct values as ``str``, each row's code into them and where it is
    missing. Found by Arrow's dictionary encoding, and given as UTF-8 ``bytes``, which
    ``hash_array`` hashes as they are (a ``str`` it encodes first, once per key: the same
    hash). Anything but Python strings goes through ``astype(str)`` first; text Arrow
    cannot take (a lone surrogate) is factorised by pandas and left to it, as before."""
    if column.dtype != object:
        return _dictionary(_as_str(column))
    values = column.to_numpy()
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return _dictionary(_as_str(column))
    try:
        return _dictionary(pa.array(values, type=pa.string(), from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
        codes, distinct = pd.factorize(values)
        return np.asarray(distinct, dtype=object), np.maximum(codes, 0), codes < 0


def _dictionary(text: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    encoded = pc.dictionary_encode(text)
    distinct = encoded.dictionary.cast(pa.binary()).to_numpy(zero_copy_only=False)
    codes = encoded.indices.fill_null(0).to_numpy()
    return distinct, codes, encoded.indices.is_null().to_numpy(zero_copy_only=False)


def _as_str(column: pd.Series) -> pa.Array:
    """The column as ``astype(str)`` makes it, as an Arrow array (no copy if it is one)."""
    values = pa.array((column if column.dtype == "str" else column.astype(str)).array)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _combine(arrays: list[np.ndarray], n: int) -> np.ndarray:
    """pandas' ``combine_hash_arrays`` (CPython's tuple hash over the columns)."""
    out = np.full(n, 0x345678, dtype=np.uint64)
    mult = np.uint64(1000003)
    for i, hashed in enumerate(arrays):
        inverse = len(arrays) - i
        out ^= hashed
        out *= mult
        mult += np.uint64(82520 + inverse + inverse)
    return out + np.uint64(97531)
