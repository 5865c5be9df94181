"""The campaign file: what to render for whom, validated on create with one clear line.

A campaign file (YAML) names the products (filters), the templates, formats and
platform presets, the variants per product and the languages, a token budget and a
schedule. Errors name the file and the field: ``spring.yaml: formats[1]: ...``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from babel import Locale, UnknownLocaleError
from cronsim import CronSim, CronSimError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from composer import DURATIONS_S, FORMATS, PLATFORM_PRESETS, TEMPLATES, platforms_for
from composer.defaults import DEFAULT_FORMAT, DEFAULT_LOCALE, DEFAULT_PLATFORMS, DEFAULT_TEMPLATE
from composer.templates import templates
from storage.errors import AdreelError

CAMPAIGN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
# What the composer makes, by campaign field: (known values, what one is called).
COMPOSER_OPTIONS = {
    "templates": (TEMPLATES, "template"),
    "formats": (FORMATS, "format"),
    "platforms": (PLATFORM_PRESETS, "platform preset"),
}


class CampaignFileError(AdreelError):
    """A campaign file that cannot be used; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriceRange(_Strict):
    min: Decimal | None = Field(default=None, ge=0)
    max: Decimal | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> PriceRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class ProductFilter(_Strict):
    """Every filter given must match; none given means every live product with an image."""

    ids: list[str] | None = Field(default=None, min_length=1)
    categories: list[str] | None = Field(default=None, min_length=1)
    brands: list[str] | None = Field(default=None, min_length=1)
    price: PriceRange | None = None
    availability: list[str] | None = Field(default=None, min_length=1)
    custom_labels: list[str] | None = Field(default=None, min_length=1)
    # only products added or changed since the campaign's last completed run
    changed_only: bool = False

    def query_params(self, changed_since: datetime | None = None) -> dict:
        """The filters as ``campaigns.records.select_products`` takes them."""
        price = self.price or PriceRange()
        return {
            "product_ids": self.ids,
            "categories": self.categories,
            "brands": self.brands,
            "price_min": price.min,
            "price_max": price.max,
            "availability": self.availability,
            "custom_labels": self.custom_labels,
            "changed_since": changed_since if self.changed_only else None,
        }


class Schedule(_Strict):
    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_timezone(value)


class CampaignSpec(_Strict):
    campaign: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    name: str | None = None
    products: ProductFilter = ProductFilter()
    templates: list[str] = Field(default=[DEFAULT_TEMPLATE], min_length=1)
    formats: list[str] = Field(default=[DEFAULT_FORMAT], min_length=1)
    platforms: list[str] = Field(
        default=list(DEFAULT_PLATFORMS), min_length=1, validate_default=True
    )
    variants: int = Field(default=1, ge=1, le=10)
    languages: list[str] = Field(default=[DEFAULT_LOCALE], min_length=1)
    duration_s: int = 6
    # tokens this campaign may meter over its life; none: only the wallet limits it
    token_budget: int | None = Field(default=None, gt=0)
    schedule: Schedule | None = None

    @field_validator("templates", "formats", "platforms", "languages")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("lists a value twice")
        return values

    @field_validator("templates", "formats", "platforms")
    @classmethod
    def _known_to_composer(cls, values: list[str], info: ValidationInfo) -> list[str]:
        known, what = COMPOSER_OPTIONS[info.field_name]
        for value in values:
            if value not in known:
                raise ValueError(f"unknown {what} {value!r}; known: {', '.join(sorted(known))}")
        return values

    @field_validator("templates")
    @classmethod
    def _one_product_per_ad(cls, values: list[str]) -> list[str]:
        """Campaigns plan one product per material; a carousel needs several in one ad."""
        for value in values:
            needs = templates()[value].min_products
            if needs > 1:
                raise ValueError(
                    f"template {value!r} shows {needs} or more products in one ad; campaigns "
                    "make one ad per product (use `adreel render` for a carousel)"
                )
        return values

    @field_validator("platforms")
    @classmethod
    def _take_every_format(cls, values: list[str], info: ValidationInfo) -> list[str]:
        """Each format must be posted on at least one of the campaign's platforms."""
        for ad_format in info.data.get("formats") or []:
            platforms_for(ad_format, tuple(values))
        return values

    @field_validator("languages")
    @classmethod
    def _known_locales(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                Locale.parse(value)
            except (ValueError, UnknownLocaleError):
                raise ValueError(
                    f"unknown language {value!r}; use a locale such as en_US"
                ) from None
        return values

    @field_validator("duration_s")
    @classmethod
    def _known_duration(cls, value: int) -> int:
        if value not in DURATIONS_S:
            raise ValueError(f"duration {value}s; choose one of {', '.join(map(str, DURATIONS_S))}")
        return value


def check_cron(value: str) -> str:
    try:
        CronSim(value, datetime.now(UTC))
    except CronSimError:
        raise ValueError(f"{value!r} is not a cron expression (e.g. '0 6 * * 1')") from None
    return value


def next_run(cron: str, timezone: str) -> datetime:
    """When the schedule fires next, in the schedule's own time zone."""
    return next(CronSim(cron, datetime.now(ZoneInfo(timezone))))


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
    return value


def parse_campaign_file(path: Path) -> CampaignSpec:
    """Read and validate a campaign file, or raise CampaignFileError naming the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CampaignFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise CampaignFileError(f"{path}: {where}not valid YAML") from None
    if not isinstance(raw, dict):
        raise CampaignFileError(f"{path}: expected a mapping of campaign fields")
    return campaign_from_dict(_stringify_numbers(raw), str(path))


def campaign_from_dict(raw: dict[str, Any], source: str) -> CampaignSpec:
    try:
        return CampaignSpec.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = _field_path(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        raise CampaignFileError(f"{source}: {field}: {message}") from None


def _field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(file)"


def _stringify_numbers(value: Any) -> Any:
    """YAML reads 19.99 as a float; prices are decimals, so read the digits instead."""
    if isinstance(value, float):
        return str(value)
    if isinstance(value, dict):
        return {key: _stringify_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stringify_numbers(item) for item in value]
    return value
