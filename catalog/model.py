"""The canonical product, modelled on the Google Merchant Center specification."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MONEY = re.compile(r"^\s*(?P<amount>[0-9][0-9.,]*)\s+(?P<currency>[A-Z]{3})\s*$")


def parse_money(text: str) -> tuple[Decimal, str]:
    """Parse ``"15.00 USD"`` into ``(Decimal("15.00"), "USD")``.

    Only a dot is taken as the decimal separator here; locale-specific forms
    (``"12,99 EUR"``) belong to the feed parsers that know their locale.
    """
    match = _MONEY.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not an amount with a currency, like '15.00 USD'")
    try:
        amount = Decimal(match["amount"])
    except InvalidOperation:
        raise ValueError(f"{match['amount']!r} is not a decimal amount") from None
    return amount, match["currency"]


class Product(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=50)
    title: str = Field(min_length=1, max_length=150)
    description: str = Field("", max_length=5000)
    link: str | None = None
    image_link: str | None = None
    price: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    brand: str | None = None
    product_category: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("price", mode="before")
    @classmethod
    def _no_floats(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("a price must be a decimal string, not a float")
        return value

    def content_hash(self) -> str:
        """Stable hash of everything that describes the product (order-independent)."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()
