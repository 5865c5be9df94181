"""``adreel brand``: a merchant's brand kit (logo, colours, font, call to action), which
campaign renders compose with from then on."""

from __future__ import annotations

from pathlib import Path

import click

from composer.kits import brand_kit, set_brand_kit
from flows.cli.output import emit_json, status
from storage.services import services

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
    kit, changed = set_brand_kit(services(), merchant, path)
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
    kit = brand_kit(services().db, merchant)
    shown = {key: kit[key] for key in SHOWN} if kit else None
    if as_json:
        emit_json({"merchant_id": merchant, "brand_kit": shown})
    elif shown is None:
        status(f"{merchant} has no brand kit: renders show the product's brand on the defaults")
    else:
        click.echo(f"{merchant}: brand kit")
        for key, value in shown.items():
            click.echo(f"  {key}: {'' if value is None else value}")


def register(cli: click.Group) -> None:
    cli.add_command(brand_group)
