"""``adreel merchant``: settings a merchant keeps between uploads."""

from __future__ import annotations

import click

from flows.cli.output import emit_json, status
from storage.merchants import set_default_currency
from storage.services import services


@click.group("merchant")
def merchant_group() -> None:
    """Merchants' settings (the merchant is created on first use)."""


@merchant_group.command("set")
@click.argument("merchant")
@click.option(
    "--currency",
    required=True,
    help="Default currency (ISO 4217) for prices a catalog file gives without one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def set_command(merchant: str, currency: str, as_json: bool) -> None:
    """Set MERCHANT's default currency, e.g. `adreel merchant set acme --currency EUR`."""
    stored = set_default_currency(services().db, merchant, currency)
    if as_json:
        emit_json(stored)
        return
    before = f" (was {stored['previous']})" if stored["previous"] else ""
    status(f"{merchant}: default currency {stored['default_currency']}{before}")


def register(cli: click.Group) -> None:
    cli.add_command(merchant_group)
