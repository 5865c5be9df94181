"""``adreel contract``: merchants' billing contracts, for account managers and finance."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from billing import service as billing
from flows.cli.output import emit_json, status
from storage.services import services


@click.group("contract")
def contract_group() -> None:
    """Versioned contracts: currency, billing modes, prices, GMV-share rates (15%–30%)."""


@contract_group.command("create")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--file", "path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create_command(merchant: str, path: Path, as_json: bool) -> None:
    """Validate a contract file and store it as the merchant's next version."""
    version, contract = billing.add_contract(services().db, merchant, path)
    if as_json:
        emit_json(
            {"merchant_id": merchant, "version": version, "effective_from": contract.effective_from}
        )
    else:
        status(f"contract v{version} for {merchant} in force from {contract.effective_from}")


@contract_group.command("show")
@click.argument("merchant")
@click.option("--at", "at", type=click.DateTime(["%Y-%m-%d"]), help="Date (default: today, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show_command(merchant: str, at, as_json: bool) -> None:
    """Show the contract version in force on a date."""
    on = at.date() if at else date.today()
    version, contract = billing.contract_in_force(services().db, merchant, on)
    terms = contract.model_dump(mode="json", by_alias=True)
    if as_json:
        emit_json({"merchant_id": merchant, "version": version, "at": on, "terms": terms})
        return
    click.echo(f"{merchant}: contract v{version}, in force on {on}")
    click.echo(f"  currency {contract.currency}; modes {', '.join(contract.modes)}")
    if contract.tokens:
        click.echo(
            f"  tokens: {contract.tokens.price_per_1000} per 1,000; packs: "
            + ", ".join(f"{p.name} {p.tokens} for {p.price}" for p in contract.tokens.packs)
        )
    for price in contract.raas or []:
        click.echo(f"  RaaS {price.format} {price.duration_s}s: {price.price}")
    if contract.gmv_share:
        tiers = ", ".join(f"from {t.from_gmv}: {t.rate:%}" for t in contract.gmv_share.tiers)
        click.echo(f"  GMV share ({contract.gmv_share.schedule}): {tiers}")
    windows = contract.attribution
    click.echo(
        f"  windows: click {windows.click_days}d, view {windows.view_days}d; "
        f"lock {contract.lock_days}d; invoice threshold {contract.invoice_threshold}"
    )


def register(cli: click.Group) -> None:
    cli.add_command(contract_group)
