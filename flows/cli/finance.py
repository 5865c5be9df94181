"""``adreel finance``: import what the outside world reports, close months, report.

From files to a closed month: ``import-interactions``, ``import-orders``,
``import-refunds`` and ``import-fx`` (any order, any replay), then ``close``,
``statement``, ``reconcile`` (exit 3 when something does not match) and ``payouts``.
"""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from attribution.commissions import late_text
from attribution.service import close_months, import_feed
from billing import service as billing
from campaigns.service import asset_product_names
from flows.cli.output import emit_json, emit_table, status
from storage.errors import AdreelError
from storage.services import services

MISMATCH_EXIT = 3
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
period_option = click.option("--period", required=True, help="Month, YYYY-MM.")
out_option = click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory for the report files (CSV, HTML; statements also JSON).",
)


@click.group("finance")
def finance_group() -> None:
    """Attribution, commissions, statements, reconciliation and payouts."""


def _import_command(kind: str, what: str, merchant_option: bool = False):
    @json_option
    @click.argument("file", type=click.Path(path_type=Path))
    def command(file: Path, as_json: bool, merchant: str | None = None) -> None:
        result = import_feed(services().db, kind, file, merchant)
        if as_json:
            emit_json(result.as_dict())
            return
        accrual = result.accrual
        status(
            f"{file}: {result.rows} row(s), {result.new} new, {result.rows - result.new} "
            f"already imported; {accrual.attributed_orders} order(s) attributed, "
            f"{accrual.accrued_lines} line(s) accrued, {accrual.clawbacks} clawback(s)"
        )
        for reason, lines in accrual.waiting.items():
            status(f"  waiting: {lines} line(s): {reason}")
        for note in accrual.late:
            status(f"  {late_text(note)}")

    command.__doc__ = f"Import {what} from FILE (CSV or JSON Lines); replays change nothing."
    if merchant_option:
        command = click.option(
            "--merchant", help="Merchant of a Shopify orders export (it does not say)."
        )(command)
    return finance_group.command(f"import-{kind}")(command)


_import_command("interactions", "ad clicks and views")
_import_command("orders", "order lines (adreel columns or Shopify's orders export)", True)
_import_command("refunds", "refunds (a quantity or an amount per line)")
_import_command("fx", "FX rates (date, base, quote, rate)")


@finance_group.command("close")
@click.option("--merchant", help="Merchant id (default: every merchant).")
@period_option
@click.option("--early", is_flag=True, help="Close a month that has not ended yet (UTC).")
@json_option
def close_command(merchant: str | None, period: str, early: bool, as_json: bool) -> None:
    """Close a month: last accruals, tier true-up, contributor shares, then lock it."""
    results = close_months(services().db, period, merchant, early)
    merchants = [r.merchant_id for r in results]
    closed = [r.merchant_id for r in results if r.closed_now]
    if as_json:
        emit_json(
            {
                "period": period,
                "closed": closed,
                "already_closed": sorted(set(merchants) - set(closed)),
                "merchants": [r.as_dict() for r in results],
            }
        )
        return
    status(
        f"{period}: closed for {len(closed)} merchant(s); "
        f"{len(merchants) - len(closed)} already closed"
    )
    for result in results:
        for currency, amount in result.true_up.items():
            status(f"  {result.merchant_id}: tier true-up {amount} {currency}")


@finance_group.command("statement")
@click.option("--merchant", required=True)
@period_option
@out_option
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Lock date (default today).")
@json_option
def statement_command(merchant: str, period: str, out_dir: Path, as_of, as_json: bool) -> None:
    """A merchant's statement for a month: charges, commissions, clawbacks, total due."""
    on = as_of.date() if as_of else date.today()
    names = asset_product_names(services(), merchant)  # the HTML names ads by product
    statement, paths = billing.statement(services().db, merchant, period, on, out_dir, names)
    if as_json:
        emit_json({**statement.as_dict(), "files": {k: str(p) for k, p in paths.items()}})
        return
    rows = [
        (currency, kind, amount)
        for currency, kinds in statement.as_dict()["currencies"].items()
        for kind, amount in kinds.items()
    ]
    emit_table(f"statement {merchant} {period}", ["currency", "kind", "amount"], rows)
    status(f"written: {paths['html']}")


@finance_group.command("unattributed")
@click.option("--merchant", required=True)
@period_option
@json_option
def unattributed_command(merchant: str, period: str, as_json: bool) -> None:
    """Orders of a month no ad was credited with, and why (no interaction, outside the
    click window, …)."""
    orders = billing.unattributed(services().db, merchant, period)
    if as_json:
        emit_json(
            {
                "merchant_id": merchant,
                "period": period,
                "orders": [
                    {**o, "ordered_at": o["ordered_at"].isoformat(), "net": str(o["net"])}
                    for o in orders
                ],
            }
        )
        return
    emit_table(
        f"unattributed orders {merchant} {period}",
        ["order", "ordered at (UTC)", "customer", "net", "reason"],
        [
            (
                o["order_id"],
                f"{o['ordered_at']:%Y-%m-%d %H:%M}",
                o["customer_key"],
                f"{o['net']} {o['currency']}",
                o["reason"],
            )
            for o in orders
        ],
    )


@finance_group.command("reconcile")
@click.option("--merchant", required=True)
@period_option
@click.option(
    "--settlement",
    required=True,
    type=click.Path(path_type=Path),
    help="Settlement report: order_id, line_id (optional), amount, currency.",
)
@click.option(
    "--tolerance", default="0.01", show_default=True, help="Largest difference that matches."
)
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Subtract refunds dated up to this day (default: the month's last day).",
)
@out_option
@json_option
def reconcile_command(merchant, period, settlement, tolerance, as_of, out_dir, as_json) -> None:
    """Match a settlement report against attributed lines; exit 3 if anything differs."""
    try:
        allowed = Decimal(tolerance)
    except InvalidOperation:
        raise AdreelError(f"--tolerance {tolerance!r} is not a decimal amount") from None
    result, paths = billing.reconcile_settlement(
        services().db, merchant, period, settlement, allowed, out_dir, as_of and as_of.date()
    )
    if as_json:
        emit_json({**result.as_dict(), "files": {k: str(p) for k, p in paths.items()}})
    else:
        rows = [
            (o, t["rows"], _by_currency(t["adreel"]), _by_currency(t["settlement"]))
            for o, t in result.totals().items()
        ]
        emit_table(
            f"reconciliation {merchant} {period}", ["outcome", "rows", "adreel", "settlement"], rows
        )
        status(f"written: {paths['html']}")
    if not result.ok:
        sys.exit(MISMATCH_EXIT)


def _by_currency(amounts: dict[str, str]) -> str:
    return ", ".join(f"{amount} {currency}" for currency, amount in amounts.items())


@finance_group.command("contributor")
@click.option("--template", required=True, help="Template name, e.g. showcase.")
@click.option("--contributor", required=True, help="Who made it (payee id).")
@click.option("--share", required=True, help="Revenue share, e.g. 0.10 for 10%.")
def contributor_command(template: str, contributor: str, share: str) -> None:
    """Give a template's contributor a share of the revenue its materials earn."""
    try:
        value = Decimal(share)
    except InvalidOperation:
        raise AdreelError(f"--share {share!r} is not a decimal such as 0.10") from None
    billing.set_template_contributor(services().db, template, contributor, value)
    status(f"{template}: {contributor} earns {value} of its revenue from the next close on")


@finance_group.command("payouts")
@period_option
@click.option("--pay", "contributor", help="Record that this contributor was paid in full.")
@click.option("--reference", help="Payment reference (bank transfer id), with --pay.")
@json_option
def payouts_command(period: str, contributor: str | None, reference: str | None, as_json) -> None:
    """What each template contributor earned, was paid and is owed for a closed month."""
    if contributor and not reference:
        raise AdreelError("--pay needs --reference: the payment's reference, for the audit trail")
    result = billing.payouts(services().db, period, contributor, reference)
    if result.already_paid is not None:
        status(
            f"{contributor}: already paid for {period} "
            f"(reference {', '.join(result.already_paid)}); nothing recorded"
        )
    elif contributor:
        status(f"{contributor}: recorded {result.paid} paid ({reference})")
    rows = result.contributors
    if as_json:
        emit_json({"period": period, "contributors": rows, "already_paid": result.already_paid})
        return
    emit_table(
        f"payouts {period}",
        ["contributor", "currency", "earned", "paid", "owed"],
        [(r["contributor"], r["currency"], r["earned"], r["paid"], r["owed"]) for r in rows],
    )


def register(cli: click.Group) -> None:
    cli.add_command(finance_group)
