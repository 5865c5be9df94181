"""Normalise a canonical chunk: prices to Decimal + currency, availability and condition
to Google's values, HTML descriptions to plain text (keeping the original), GTIN check
digits, and ``_ok_*`` flags for the checks pandas cannot express, for validation to read.

Text is kept byte-exact apart from trimming surrounding whitespace: right-to-left and
CJK titles are stored as given.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from decimal import Decimal

import pandas as pd

from catalog.money import PriceError, parse_price
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
    """Return the chunk with normalised columns, ``_ok_*`` flags and ``STORED`` columns."""
    out = raw.copy()
    for column in (
        "id",
        "title",
        "link",
        "image_link",
        "brand",
        "mpn",
        "item_group_id",
        "google_product_category",
        "product_type",
        *CUSTOM_LABELS,
        *VARIANT_ATTRIBUTES,
    ):
        out[column] = _strip(out[column])
    out["product_id"] = out["id"]
    out["description_html"] = _strip(out["description"])
    out["description"] = _each(out["description_html"], _plain_text)
    out["description_html"] = _each(
        out["description_html"], lambda v: v if v and "<" in v else None
    )
    for column in ("id", "title", "price"):  # what the merchant gave, before parsing
        out[f"_given_{column}"] = out[column]
    _prices(out, default_currency)
    out["availability"] = _each(_strip(out["availability"]), _availability)
    out["condition"] = _each(_strip(out["condition"]), lambda v: v.lower() if v else None)
    out["gtin"] = _each(_strip(out["gtin"]), lambda v: re.sub(r"[\s-]", "", v) if v else None)
    out["_ok_gtin"] = [v is None or gtin_is_valid(v) for v in out["gtin"]]
    out["additional_image_links"] = _each(out["additional_image_link"], _link_list)
    out["product_category"] = out["google_product_category"]
    out["custom_labels"] = [
        json.dumps([v for v in labels if v], ensure_ascii=False)
        for labels in zip(*(out[c] for c in CUSTOM_LABELS), strict=True)
    ]
    out["attributes"] = [
        json.dumps(
            {k: v for k, v in zip([*VARIANT_ATTRIBUTES, "shipping"], values, strict=True) if v},
            ensure_ascii=False,
        )
        for values in zip(*(out[c] for c in [*VARIANT_ATTRIBUTES, "shipping"]), strict=True)
    ]
    out["content_hash"] = _content_hashes(out)
    return out


def _each(column: pd.Series, function) -> pd.Series:
    """Apply per value, keeping ``None`` as None (pandas' ``map`` may turn it into NaN)."""
    return pd.Series([function(v) for v in column], index=column.index, dtype=object)


def _strip(column: pd.Series) -> pd.Series:
    return _each(column, lambda v: (v.strip() or None) if isinstance(v, str) else None)


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
    parsed = [_try_price(v, default_currency) for v in out["price"]]
    sale = [_try_price(v, default_currency) for v in out["sale_price"]]
    out["_ok_price"] = [p is None or isinstance(p, tuple) for p in parsed]
    out["_ok_sale_price"] = [s is None or isinstance(s, tuple) for s in sale]
    price = [p if isinstance(p, tuple) else None for p in parsed]
    sale_ok = [s if isinstance(s, tuple) else None for s in sale]
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
    hashed = [c for c in STORED if c not in ("content_hash", "product_id")]
    return [
        hashlib.blake2b("\x1f".join(map(str, values)).encode(), digest_size=16).hexdigest()
        for values in zip(*(out[c] for c in hashed), strict=True)
    ]
