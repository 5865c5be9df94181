"""``adreel ledger``: the double-entry ledger, for finance."""

from __future__ import annotations

import sys

import click

from billing import service as billing
from flows.cli.output import emit_json, emit_table, status
from storage.services import services


@click.group("ledger")
def ledger_group() -> None:
    """The append-only double-entry ledger."""


@ledger_group.command("verify")
@click.option("--merchant", help="Only this merchant (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_command(merchant: str | None, as_json: bool) -> None:
    """Recompute every balance from postings and check every transaction balances.

    Exits 1 on any difference.
    """
    check = billing.verify(services().db, merchant)
    if as_json:
        emit_json(
            {
                "ok": check.ok,
                "balance_mismatches": check.balance_mismatches,
                "bad_transactions": check.bad_transactions,
                "hold_mismatches": check.hold_mismatches,
            }
        )
    else:
        for row in check.balance_mismatches:
            click.echo(
                f"account {row['account_id']} ({row['merchant_id']} {row['kind']} "
                f"{row['asset']}): kept {row['balance']}, postings say {row['computed']}"
            )
        for row in check.bad_transactions:
            click.echo(f"transaction {row['txn_id']} ({row['idempotency_key']}): {row['problem']}")
        for row in check.hold_mismatches:
            click.echo(
                f"wallet of {row['merchant_id']}: held {row['held']}, "
                f"open holds {row['open_holds']}"
            )
        status(
            "ledger verified: every balance and transaction checks out"
            if check.ok
            else "ledger verification FAILED"
        )
    if not check.ok:
        sys.exit(1)


@ledger_group.command("balances")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def balances_command(merchant: str, as_json: bool) -> None:
    """A merchant's accounts: balance (credits minus debits), held and available."""
    rows = billing.account_balances(services().db, merchant)
    if as_json:
        emit_json({"merchant_id": merchant, "accounts": rows})
        return
    emit_table(
        f"Accounts of {merchant}",
        ["account", "asset", "balance", "held", "available"],
        [(r["kind"], r["asset"], r["balance"], r["held"], r["available"]) for r in rows],
    )


def register(cli: click.Group) -> None:
    cli.add_command(ledger_group)
