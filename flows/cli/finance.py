"""``adreel finance``: period close (attribution, statements and payouts arrive later)."""

from __future__ import annotations

import click

from attribution.periods import close_period, parse_period
from flows.cli.output import emit_json, status
from flows.services import services
from storage.products import list_merchant_ids


@click.group("finance")
def finance_group() -> None:
    """Period close (more finance commands arrive with attribution)."""


@finance_group.command("close")
@click.option("--merchant", help="Merchant id (default: every merchant).")
@click.option("--period", required=True, help="Month to close, YYYY-MM.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def close_command(merchant: str | None, period: str, as_json: bool) -> None:
    """Close a month: nothing can be posted into it afterwards."""
    month = parse_period(period)
    with services().db.connection() as conn:
        merchants = [merchant] if merchant else list_merchant_ids(conn)
        closed = close_period(conn, merchants, month)
    if as_json:
        emit_json(
            {
                "period": period,
                "closed": closed,
                "already_closed": sorted(set(merchants) - set(closed)),
            }
        )
    else:
        status(
            f"{period}: closed for {len(closed)} merchant(s); "
            f"{len(merchants) - len(closed)} already closed"
        )


def register(cli: click.Group) -> None:
    cli.add_command(finance_group)
