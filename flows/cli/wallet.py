"""``adreel wallet``: token packs and wallet balances, for account managers and finance."""

from __future__ import annotations

from datetime import date

import click

from billing import service as billing
from flows.cli.output import emit_json, emit_table, status
from storage.services import services


@click.group("wallet")
def wallet_group() -> None:
    """Prepaid token wallets: buy packs from the contract, see what is available."""


@wallet_group.command("buy")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--pack", "pack_name", required=True, help="Pack name from the contract.")
@click.option("--key", required=True, help="Idempotency key, e.g. the order or invoice number.")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="Date (default: today, UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def buy_command(merchant: str, pack_name: str, key: str, on, as_json: bool) -> None:
    """Credit the wallet with a pack's tokens at the contract's price (replay-safe)."""
    when = on.date() if on else date.today()
    bought = billing.buy_token_pack(services().db, merchant, pack_name, key, when)
    posted, pack, currency = bought.posted, bought.pack, bought.currency
    if as_json:
        emit_json(
            {
                "merchant_id": merchant,
                "txn_id": posted.txn_id,
                "created": posted.created,
                "tokens": pack.tokens,
                "price": pack.price,
                "currency": currency,
            }
        )
    elif posted.created:
        status(
            f"{merchant}: +{pack.tokens} tokens for {pack.price} {currency} "
            f"(transaction {posted.txn_id})"
        )
    else:
        status(
            f"{merchant}: pack {key!r} was bought before (transaction {posted.txn_id}); "
            "nothing changed"
        )


@wallet_group.command("show")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show_command(merchant: str, as_json: bool) -> None:
    """Tokens in the wallet: balance, held by renders in flight, available."""
    row = billing.wallet(services().db, merchant)
    if as_json:
        emit_json({"merchant_id": merchant, **row})
        return
    emit_table(
        f"Token wallet of {merchant}",
        ["balance", "held", "available"],
        [(row["balance"], row["held"], row["available"])],
    )


def register(cli: click.Group) -> None:
    cli.add_command(wallet_group)
