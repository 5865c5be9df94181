"""``adreel wallet``: token packs and wallet balances, for account managers and finance."""

from __future__ import annotations

from datetime import date

import click

from billing.contracts import contract_at
from billing.errors import LedgerError
from billing.ledger import balances
from billing.tokens import buy_pack
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
    with services().db.connection() as conn:
        version, contract = contract_at(conn, merchant, when)
        packs = {p.name: p for p in (contract.tokens.packs if contract.tokens else [])}
        if pack_name not in packs:
            raise LedgerError(
                f"contract v{version} of {merchant} has no pack {pack_name!r}; "
                f"packs: {', '.join(packs) or 'none'}"
            )
        pack = packs[pack_name]
        posted = buy_pack(
            conn,
            merchant,
            pack.tokens,
            pack.price,
            contract.currency,
            f"token_pack:{merchant}:{key}",
            when,
        )
    if as_json:
        emit_json(
            {
                "merchant_id": merchant,
                "txn_id": posted.txn_id,
                "created": posted.created,
                "tokens": pack.tokens,
                "price": pack.price,
                "currency": contract.currency,
            }
        )
    elif posted.created:
        status(
            f"{merchant}: +{pack.tokens} tokens for {pack.price} {contract.currency} "
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
    with services().db.connection() as conn:
        wallet = [r for r in balances(conn, merchant) if r["kind"] == "wallet"]
    row = wallet[0] if wallet else {"balance": 0, "held": 0, "available": 0}
    if as_json:
        emit_json(
            {"merchant_id": merchant, **{k: row[k] for k in ("balance", "held", "available")}}
        )
        return
    emit_table(
        f"Token wallet of {merchant}",
        ["balance", "held", "available"],
        [(row["balance"], row["held"], row["available"])],
    )


def register(cli: click.Group) -> None:
    cli.add_command(wallet_group)
