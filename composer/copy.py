"""What an ad says: product data in, the text of each slot out (prices with Babel)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from babel.numbers import format_currency, format_percent
from PIL import Image

MAX_FEATURES = 3
_SENTENCES = re.compile(r"(?<=[.!?。！？])\s+|\s*[\n•;·]\s*|\s+[-–—]\s+")


@dataclass(frozen=True)
class ProductCopy:
    """One product as an ad shows it; money is Decimal, never float."""

    title: str
    price: Decimal
    currency: str
    sale_price: Decimal | None = None
    description: str = ""
    brand: str = ""
    image: Image.Image | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_product(cls, row: Mapping[str, Any], image: Image.Image | None = None) -> ProductCopy:
        """A catalog product row (title, price, currency, and sale price, description and
        brand when it has them); ``image`` None: the template's layout without an image."""
        return cls(
            title=row["title"],
            price=row["price"],
            currency=row["currency"],
            sale_price=row.get("sale_price"),
            description=row.get("description") or "",
            brand=row.get("brand") or "",
            image=image,
        )

    @property
    def on_sale(self) -> bool:
        return self.sale_price is not None and self.sale_price < self.price


def format_price(amount: Decimal, currency: str, locale: str) -> str:
    """``$19.99``, ``19,99 €``, ``4.500 د.ك.``: the locale's own way, the currency's digits."""
    return format_currency(amount, currency, locale=locale)


def discount_text(product: ProductCopy, locale: str) -> str:
    """The discount as a whole percentage, rounded down so that it never overstates."""
    off = ((product.price - product.sale_price) / product.price * 100).to_integral_value(
        ROUND_FLOOR
    )
    return format_percent(-off / 100, locale=locale)


def features(description: str) -> list[str]:
    """Two or three short lines from the description: its first short sentences."""
    lines = []
    for piece in _SENTENCES.split(description or ""):
        piece = piece.strip(" .;:·•-–—")
        if 3 <= len(piece) <= 90:
            lines.append(piece)
        if len(lines) == MAX_FEATURES:
            break
    return lines


def slot_text(slot: str, product: ProductCopy, locale: str, brand: str, cta: str) -> str:
    """The text a slot shows for a product."""
    if slot == "title":
        return product.title
    if slot == "price":
        shown = product.sale_price if product.on_sale else product.price
        return format_price(shown, product.currency, locale)
    if slot == "old_price":
        return format_price(product.price, product.currency, locale)
    if slot == "sale_price":
        return format_price(product.sale_price, product.currency, locale)
    if slot == "discount":
        return discount_text(product, locale)
    if slot == "brand":
        return brand or product.brand
    if slot == "cta":
        return cta
    raise ValueError(f"unknown text slot {slot!r}")
