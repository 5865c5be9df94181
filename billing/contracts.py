"""Merchant contracts: versioned terms for the three billing modes.

A contract file (YAML) describes one version. Versions follow each other: a new one
must start after the latest, and the version in force on a date governs events of that
date. Every GMV-share rate must lie within 15% to 30%; a contract outside that range is
refused when it is created.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import psycopg
import yaml
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from billing.errors import ContractError, LedgerError
from billing.money import minor_units, require_whole_minor_units, round_exact
from billing.queries import query

# What a clip of builtin:motion (the CPU tier) meters when a contract does not say:
# about 1% of a diffusion preview. generation.metering.MOTION_TOKENS_PER_CLIP is the same.
DEFAULT_MOTION_TOKENS = 120
MIN_GMV_RATE = Decimal("0.15")
MAX_GMV_RATE = Decimal("0.30")
Mode = Literal["tokens", "raas", "gmv_share"]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_floats(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError(f"{value!r} is a float; write amounts and rates as quoted strings")
        return value


class TokenPack(_Strict):
    name: str
    tokens: int = Field(gt=0)
    price: Decimal = Field(ge=0)


class TokenTerms(_Strict):
    price_per_1000: Decimal = Field(gt=0)
    packs: list[TokenPack] = Field(default_factory=list)


class RaasPrice(_Strict):
    format: Literal["9x16", "1x1", "16x9"]
    duration_s: Literal[6, 15, 30]
    price: Decimal = Field(gt=0)


class Tier(_Strict):
    from_gmv: Decimal = Field(ge=0, alias="from")
    rate: Decimal


class GmvShareTerms(_Strict):
    schedule: Literal["flat", "volume", "graduated"]
    tiers: list[Tier] = Field(min_length=1)

    @model_validator(mode="after")
    def _rates_in_range(self) -> GmvShareTerms:
        for tier in self.tiers:
            if not MIN_GMV_RATE <= tier.rate <= MAX_GMV_RATE:
                raise ValueError(
                    f"GMV-share rate {tier.rate} is outside the allowed 0.15 to 0.30 (15%–30%)"
                )
        starts = [tier.from_gmv for tier in self.tiers]
        if starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError("tiers must start at 0 and rise strictly")
        if self.schedule == "flat" and len(self.tiers) != 1:
            raise ValueError("a flat schedule has exactly one tier")
        return self


class AttributionWindows(_Strict):
    click_days: int = Field(7, ge=0)
    view_days: int = Field(1, ge=0)


class MotionTerms(_Strict):
    """What a render of builtin:motion, the CPU tier, costs this merchant: tokens per clip
    (tokens mode), and the share of the RaaS price charged for a final it rendered (an
    accepted ad is an accepted ad: the whole price unless the contract says less)."""

    tokens_per_clip: int = Field(DEFAULT_MOTION_TOKENS, gt=0)
    raas_share: Decimal = Field(Decimal(1), gt=0, le=1)


class Contract(_Strict):
    effective_from: date
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    modes: list[Mode] = Field(min_length=1)
    tokens: TokenTerms | None = None
    raas: list[RaasPrice] | None = None
    gmv_share: GmvShareTerms | None = None
    attribution: AttributionWindows = AttributionWindows()
    motion: MotionTerms = MotionTerms()
    lock_days: int = Field(15, ge=0)
    invoice_threshold: Decimal = Field(Decimal(0), ge=0)

    @model_validator(mode="after")
    def _terms_for_each_mode(self) -> Contract:
        for mode in self.modes:
            if getattr(self, mode) is None:
                raise ValueError(f"mode {mode!r} is enabled but has no {mode} terms")
        return self

    def money_fields(self) -> list[tuple[str, Decimal]]:
        amounts = [("invoice_threshold", self.invoice_threshold)]
        if self.tokens:
            amounts += [(f"tokens.packs.{p.name}.price", p.price) for p in self.tokens.packs]
        if self.raas:
            amounts += [(f"raas.{r.format}/{r.duration_s}s.price", r.price) for r in self.raas]
        return amounts

    def raas_price(self, ad_format: str, duration_s: int, motion: bool = False) -> Decimal:
        """The price of an accepted final; of one builtin:motion rendered, its share of it
        (rounded half-even to the minor unit, once)."""
        for price in self.raas or []:
            if (price.format, price.duration_s) == (ad_format, duration_s):
                if motion and self.motion.raas_share != 1:
                    return round_exact(price.price * self.motion.raas_share, self.currency)
                return price.price
        raise LedgerError(f"the contract has no RaaS price for {ad_format} at {duration_s}s")


def parse_contract(path: Path) -> Contract:
    """Read and validate a contract file; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: cannot read contract: {exc}") from None
    if not isinstance(raw, dict):
        raise ContractError(f"{path}: a contract file is a YAML mapping")
    return _validated(raw, str(path))


def contract_from_dict(raw: object, source: str = "contract") -> Contract:
    """Validate a contract given as a mapping (the file's fields, e.g. a JSON body);
    errors name ``source`` and the field, as for a file."""
    if not isinstance(raw, dict):
        raise ContractError(f"{source}: a contract is a mapping of its fields")
    return _validated(raw, source)


def _validated(raw: dict, source: str) -> Contract:
    # Amounts as strings in YAML keep their exact digits; numbers are stringified first.
    try:
        contract = Contract.model_validate(_stringify_numbers(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "contract"
        message = error["msg"].removeprefix("Value error, ")
        raise ContractError(f"{source}: {where}: {message}") from None
    try:
        minor_units(contract.currency)
        for where, amount in contract.money_fields():
            require_whole_minor_units(amount, contract.currency, where)
    except LedgerError as exc:
        raise ContractError(f"{source}: {exc}") from None
    return contract


def _stringify_numbers(value: object) -> object:
    """YAML reads 0.2 as a float; contracts need exact decimals, so keep the digits."""
    if isinstance(value, dict):
        return {key: _stringify_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stringify_numbers(item) for item in value]
    if isinstance(value, float):
        return repr(value)
    return value


def create_version(conn: psycopg.Connection, merchant_id: str, contract: Contract) -> int:
    """Store a new version; it must start after the merchant's latest. Returns its number."""
    with conn.transaction():
        conn.execute(query("lock_merchant_contracts"), {"merchant_id": merchant_id})
        latest = conn.execute(query("latest_contract"), {"merchant_id": merchant_id}).fetchone()
        if latest and contract.effective_from <= latest["effective_from"]:
            raise ContractError(
                f"merchant {merchant_id}: a version effective {contract.effective_from} would "
                f"overlap version {latest['version']} (effective {latest['effective_from']}); "
                "a new version must start later"
            )
        version = (latest["version"] if latest else 0) + 1
        conn.execute(
            query("insert_contract"),
            {
                "merchant_id": merchant_id,
                "version": version,
                "effective_from": contract.effective_from,
                "currency": contract.currency,
                "terms": Jsonb(contract.model_dump(mode="json", by_alias=True)),
            },
        )
    return version


def contract_at(conn: psycopg.Connection, merchant_id: str, at: date) -> tuple[int, Contract]:
    """The version in force on ``at``, or a LedgerError saying there is none."""
    row = conn.execute(query("contract_at"), {"merchant_id": merchant_id, "at": at}).fetchone()
    if row is None:
        raise LedgerError(f"merchant {merchant_id} has no contract in force on {at}")
    return row["version"], Contract.model_validate(row["terms"])
