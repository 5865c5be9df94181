"""A merchant's brand kit: name, logo, primary and secondary colours, font and call to
action. Kept as a small YAML file per merchant (``brand.yaml``), paths relative to it:

    name: Northpeak
    logo: northpeak-logo.png        # optional; without it the end card shows the name
    primary: "#ffc400"
    secondary: "#111114"
    font: fonts/Brand-Bold.ttf      # optional; Noto Sans otherwise
    call_to_action: {en: Shop now, de: Jetzt kaufen}   # or one string; default: localised
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from PIL import Image, ImageFont

from composer.images import load_image

# "Shop now" in the languages merchants sell in; a brand kit may say it its own way.
SHOP_NOW = {
    "en": "Shop now",
    "de": "Jetzt kaufen",
    "fr": "Acheter",
    "es": "Comprar ahora",
    "it": "Acquista ora",
    "nl": "Nu kopen",
    "pt": "Comprar agora",
    "pl": "Kup teraz",
    "sv": "Handla nu",
    "tr": "Hemen al",
    "ja": "今すぐ購入",
    "zh": "立即购买",
    "ko": "지금 구매하기",
    "ar": "تسوّق الآن",
    "he": "לקנייה עכשיו",
}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_FIELDS = {"name", "logo", "primary", "secondary", "font", "call_to_action"}


class BrandKitError(ValueError):
    """A brand kit that cannot be used; the message names the file and field."""


@dataclass(frozen=True)
class BrandKit:
    name: str = ""
    primary: tuple[int, int, int] = (255, 196, 0)
    secondary: tuple[int, int, int] = (17, 17, 20)
    logo: Image.Image | None = field(default=None, compare=False)
    logo_file: Path | None = None  # where a kit file's logo came from
    font: Path | None = None
    call_to_action: dict[str, str] | str | None = None

    def cta(self, locale: str) -> str:
        """The call to action in the ad's language (``de_DE`` falls back to ``de``)."""
        language = locale.split("_")[0]
        own = self.call_to_action
        if isinstance(own, str):
            return own
        if own and (locale in own or language in own):
            return own.get(locale) or own[language]
        return SHOP_NOW.get(language, SHOP_NOW["en"])


def load_brand_kit(path: Path) -> BrandKit:
    """Read and check a brand kit file; errors name the file and the field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BrandKitError(f"{path}: cannot read brand kit: {exc}") from None
    if not isinstance(raw, dict):
        raise BrandKitError(f"{path}: expected a mapping of brand kit fields")
    unknown = set(raw) - _FIELDS
    if unknown:
        raise BrandKitError(
            f"{path}: unknown field {sorted(unknown)[0]!r}; known: {', '.join(sorted(_FIELDS))}"
        )
    name = raw.get("name")
    if name is not None and not isinstance(name, str | int | float):
        raise BrandKitError(f"{path}: name: expected text, not {type(name).__name__}")
    kit = {"name": "" if name is None else str(name)}
    for colour in ("primary", "secondary"):
        if colour in raw:
            kit[colour] = parse_colour(raw[colour], f"{path}: {colour}")
    if "font" in raw:
        kit["font"] = _font(path, _file(path, raw, "font"))
    if "logo" in raw:
        kit["logo_file"] = _file(path, raw, "logo")
        kit["logo"] = _logo(path, kit["logo_file"])
    if raw.get("call_to_action") is not None:
        kit["call_to_action"] = _call_to_action(path, raw["call_to_action"])
    return BrandKit(**kit)


def _logo(path: Path, logo: Path) -> Image.Image:
    """The logo, refused here rather than left out at drawing time."""
    try:
        with Image.open(logo) as image:
            image.verify()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BrandKitError(f"{path}: logo: {logo} is not a readable image") from None
    image = load_image(logo, what=f"logo {logo}")
    if image is None:  # verified, yet it does not decode whole
        raise BrandKitError(f"{path}: logo: {logo} is not a readable image")
    return image


def _font(path: Path, font: Path) -> Path:
    try:
        ImageFont.truetype(str(font), 12)
    except (OSError, ValueError):
        raise BrandKitError(f"{path}: font: {font} is not a TrueType or OpenType font") from None
    return font


def _call_to_action(path: Path, value) -> str | dict[str, str]:
    """One text, or a mapping of language to text."""
    if isinstance(value, str) and value.strip():
        return value
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items())
    ):
        return value
    raise BrandKitError(
        f"{path}: call_to_action: {value!r} is not a text or a mapping of language to text"
    )


def _file(path: Path, raw: dict, field_name: str) -> Path:
    """A file named by the kit, relative to the kit's own file."""
    value = raw[field_name]
    if not isinstance(value, str) or not value:
        raise BrandKitError(f"{path}: {field_name}: expected a file path, not {value!r}")
    found = path.parent / value
    if not found.is_file():
        raise BrandKitError(f"{path}: {field_name}: no file {found}")
    return found


def parse_colour(value, where: str) -> tuple[int, int, int]:
    if not isinstance(value, str) or not _HEX.match(value):
        raise BrandKitError(f"{where}: {value!r} is not a colour like '#ffc400'")
    return tuple(int(value[i : i + 2], 16) for i in (1, 3, 5))
