"""``adreel brand``: a merchant's brand kit (logo, colours, font, call to action), which
campaign renders compose with from then on."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from PIL import Image, ImageFont

from flows.cli.output import emit_json, status
from flows.services import services
from generation.composer import BrandKitError, load_brand_kit
from storage.brand_kits import BrandKitFields, get_brand_kit, require_merchant, save_brand_kit
from storage.errors import AdreelError

# What `brand show` prints, in order.
SHOWN = (
    "name",
    "primary_colour",
    "secondary_colour",
    "call_to_action",
    "logo_key",
    "logo_sha256",
    "font_name",
    "font_key",
    "font_sha256",
    "content_digest",
    "updated_at",
)


@click.group("brand")
def brand_group() -> None:
    """Brand kits: each merchant's logo, colours, font and call to action."""


@brand_group.command("set")
@click.argument("merchant")
@click.option("--file", "path", required=True, type=click.Path(path_type=Path), help="YAML.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def set_command(merchant: str, path: Path, as_json: bool) -> None:
    """Check a brand kit file and store it as the merchant's kit (the same kit again
    changes nothing). Materials composed before keep the kit they were made with."""
    fields = read_brand_file(path)
    svc = services()
    with svc.db.connection() as conn, conn.transaction():
        kit, changed = save_brand_kit(conn, svc.store, svc.settings.s3_prefix, merchant, fields)
    if as_json:
        emit_json(
            {"merchant_id": merchant, "changed": changed, "content_digest": kit["content_digest"]}
        )
    elif changed:
        status(f"brand kit of {merchant} saved; renders compose with it from now on")
    else:
        status(f"brand kit of {merchant} unchanged: it is the kit already stored")


@brand_group.command("show")
@click.argument("merchant")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show_command(merchant: str, as_json: bool) -> None:
    """Show the merchant's brand kit (none: the product's brand on the default colours)."""
    with services().db.connection() as conn:
        require_merchant(conn, merchant)
        kit = get_brand_kit(conn, merchant)
    shown = {key: kit[key] for key in SHOWN} if kit else None
    if as_json:
        emit_json({"merchant_id": merchant, "brand_kit": shown})
    elif shown is None:
        status(f"{merchant} has no brand kit: renders show the product's brand on the defaults")
    else:
        click.echo(f"{merchant}: brand kit")
        for key, value in shown.items():
            click.echo(f"  {key}: {'' if value is None else value}")


def read_brand_file(path: Path) -> BrandKitFields:
    """The composer's checks, and those it leaves to drawing time: a logo Pillow cannot
    decode, a font file that is not a font, a call to action that is not text."""
    try:
        _check_files(path)
        kit = load_brand_kit(path)
    except BrandKitError as exc:
        raise AdreelError(" ".join(str(exc).split())) from None  # YAML errors span lines
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return BrandKitFields(
        name=kit.name if raw.get("name") is not None else "",  # `name:` left empty
        primary_colour=_hex(kit.primary),
        secondary_colour=_hex(kit.secondary),
        call_to_action=_call_to_action(path, raw.get("call_to_action")),
        logo=path.parent / raw["logo"] if "logo" in raw else None,
        font=kit.font,
    )


def _check_files(path: Path) -> None:
    """Before the composer reads them: it would log an undecodable logo and go on."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return  # load_brand_kit says what is wrong with the file itself
    if not isinstance(raw, dict):
        return
    for what in ("logo", "font"):
        if what in raw and not isinstance(raw[what], str):
            raise BrandKitError(f"{path}: {what}: {raw[what]!r} is not a file name")
        file = path.parent / raw[what] if what in raw else None
        if file is None or not file.is_file():
            continue  # absent, or load_brand_kit names the missing file
        try:
            if what == "logo":
                with Image.open(file) as image:
                    image.load()
            else:
                ImageFont.truetype(str(file), 12)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            kind = "a readable image" if what == "logo" else "a TrueType or OpenType font"
            raise BrandKitError(f"{path}: {what}: {file} is not {kind}") from None


def _call_to_action(path: Path, value) -> str | dict[str, str] | None:
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    if (
        isinstance(value, dict)
        and value
        and all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in value.items())
    ):
        return value
    raise AdreelError(
        f"{path}: call_to_action: {value!r} is not a text or a mapping of language to text"
    )


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def register(cli: click.Group) -> None:
    cli.add_command(brand_group)
