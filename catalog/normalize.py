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
from decimal import Decimal

import pandas as pd

from catalog.money import NoCurrency, PriceError, parse_price
from catalog.schema import CUSTOM_LABELS, VARIANT_ATTRIBUTES

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

STORED = [
    "product_id",
    "title",
    "description",
    "description_html",
    "link",
    "image_link",
    "additional_image_links",
    "price",
    "currency",
    "sale_price",
    "availability",
    "condition",
    "brand",
    "gtin",
    "mpn",
    "item_group_id",
    "product_category",
    "product_type",
    "custom_labels",
    "attributes",
    "content_hash",
]


def normalize_chunk(raw: pd.DataFrame, default_currency: str | None) -> pd.DataFrame:
    """Return the chunk with normalised columns, ``_ok_*`` flags and ``STORED`` columns.

    Work is per distinct value where values repeat (prices, availability, conditions)
    and only on present values where most are missing (labels, attributes, GTINs).
    """
    out = raw.copy()
    for column in TRIMMED:
        out[column] = _strip(out[column])
    out["product_id"] = out["id"]
    html_text = out["description"]
    out["description"] = _present(html_text, _plain_text)
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


def _strip(column: pd.Series) -> pd.Series:
    values = [(v.strip() or None) if v.__class__ is str else None for v in column]
    return pd.Series(values, index=column.index, dtype=object)


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
    parsed = _distinct(out["price"], lambda v: _try_price(v, default_currency))
    sale = _distinct(out["sale_price"], lambda v: _try_price(v, default_currency))
    out["_ok_price"] = [p is None or p.__class__ is tuple for p in parsed]
    out["_ok_sale_price"] = [s is None or s.__class__ is tuple for s in sale]
    # A price without a currency is not a bad row but a missing setting: the upload
    # refuses the whole file and asks for one.
    out["_no_currency"] = [
        isinstance(p, NoCurrency) or isinstance(s, NoCurrency)
        for p, s in zip(parsed, sale, strict=True)
    ]
    price = [p if p.__class__ is tuple else None for p in parsed]
    sale_ok = [s if s.__class__ is tuple else None for s in sale]
    out["_ok_price_positive"] = [p is None or p[0] > 0 for p in price]
    out["_ok_sale_not_above_price"] = [
        s is None or p is None or (s[1] == p[1] and Decimal(0) < s[0] <= p[0])
        for p, s in zip(price, sale_ok, strict=True)
    ]
    out["currency"] = [p[1] if p else None for p in price]
    out["price"] = [str(p[0]) if p else None for p in price]
    out["sale_price"] = [str(s[0]) if s else None for s in sale_ok]


def _try_price(value: str | None, default_currency: str | None):
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_price(value.strip(), default_currency)
    except PriceError as exc:
        return exc


def gtin_is_valid(gtin: str) -> bool:
    """GTIN-8/12/13/14 check digit (GS1 mod 10)."""
    if not gtin.isdigit() or len(gtin) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in gtin]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


def _content_hashes(out: pd.DataFrame) -> list[str]:
    """128 bits of pandas' vectorised row hash (two keys): enough to tell a change."""
    hashed = out[[c for c in STORED if c not in ("content_hash", "product_id")]].astype(str)
    first = pd.util.hash_pandas_object(hashed, index=False, hash_key="adreel-content-1")
    second = pd.util.hash_pandas_object(hashed, index=False, hash_key="adreel-content-2")
    return [f"{a:016x}{b:016x}" for a, b in zip(first, second, strict=True)]
