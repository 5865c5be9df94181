"""Statements and reconciliation reports as files finance can read, print and load.

Each report is written three ways: CSV (for spreadsheets), JSON (for scripts) and one
self-contained HTML page (no scripts or external assets, so it prints and archives as
is). Amounts on the page are formatted with Babel; the files keep plain decimals.
"""

from __future__ import annotations

import csv
import html
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency

from billing.charts import bar_chart, line_chart
from billing.reconcile import Reconciliation
from billing.statements import LABELS, ORDER, Statement

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}
table{border-collapse:collapse;margin:1rem 0}td,th{padding:.3rem .8rem;border-bottom:1px solid #ddd}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:bold;border-top:2px solid #222}
.bad{color:#b00020}.muted{color:#666}
figure{margin:1rem 0}figcaption{font-weight:600}svg{max-width:100%;height:auto}
@media print{body{margin:0}figure{break-inside:avoid}}
"""


DESCRIPTIONS = {
    "total": "Total for the month",
    "pending_commission": "Commission still in its lock period",
    "due_now": "Due now",
}


def money(amount: Decimal | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return ""
    return format_currency(amount, currency, locale="en_US")


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style><body><h1>{html.escape(title)}</h1>{body}</body></html>\n"
    )


def write_statement(
    statement: Statement, out_dir: Path, asset_labels: dict | None = None
) -> dict[str, Path]:
    """The statement as CSV, JSON and a printable HTML page; ``asset_labels`` (asset id ->
    product name) names the assets on the page where the caller knows the products."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"statement-{statement.merchant_id}-{statement.period:%Y-%m}"
    paths = {
        "csv": stem.with_suffix(".csv"),
        "json": stem.with_suffix(".json"),
        "html": stem.with_suffix(".html"),
    }
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["currency", "kind", "description", "amount"])
        for currency, kinds in statement.as_dict()["currencies"].items():
            for kind, amount in kinds.items():
                writer.writerow([currency, kind, DESCRIPTIONS.get(kind, LABELS.get(kind)), amount])
    paths["json"].write_text(
        json.dumps(
            {**statement.as_dict(), "top_assets": _jsonable(statement.top_assets())},
            indent=2,
            sort_keys=True,
        )
        + "\n",
        encoding="utf-8",
    )
    paths["html"].write_text(_statement_html(statement, asset_labels or {}), encoding="utf-8")
    return paths


def _jsonable(rows: list[dict]) -> list[dict]:
    return [{k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()} for row in rows]


def _statement_html(statement: Statement, labels: dict) -> str:
    title = f"Statement {statement.period:%B %Y} — {statement.merchant_id}"
    parts = [
        f"<p class=muted>As of {statement.as_of}. Commission is invoiced once its lock "
        "period has passed; until then it is pending.</p>"
    ]
    if not statement.totals:
        parts.append("<p>Nothing was posted for this month.</p>")
    for currency in sorted(statement.totals):
        rows = "".join(
            f"<tr><td>{LABELS[kind]}</td><td class=n>"
            f"{money(statement.totals[currency].get(kind, Decimal(0)), currency)}</td></tr>"
            for kind in ORDER
            if kind in statement.totals[currency]
        )
        pending = statement.pending.get(currency, Decimal(0))
        parts.append(
            f"<h2>{currency}</h2><table><tr><th>Item</th><th class=n>Amount</th></tr>{rows}"
            f"<tr class=total><td>Total</td><td class=n>"
            f"{money(statement.total(currency), currency)}</td></tr>"
            "<tr><td>Pending commission (in lock period)</td><td class=n>"
            f"{money(pending, currency)}</td></tr><tr class=total><td>Due now</td><td class=n>"
            f"{money(statement.due_now(currency), currency)}</td></tr></table>"
        )
    if statement.daily:
        parts.append("<h2>Attributed GMV</h2>")
        parts.append(statement_charts(statement.daily, labels))
        top = "".join(
            f"<tr><td>{html.escape(labels.get(a['asset_id']) or str(a['asset_id']))}</td>"
            f"<td class=n>{money(a['net_gmv'], a['currency'])}</td>"
            f"<td class=n>{money(a['commission'], a['currency'])}</td></tr>"
            for a in statement.top_assets()
        )
        parts.append(
            "<h2>Top assets by attributed GMV</h2><table><tr><th>Asset</th>"
            f"<th class=n>Net GMV</th><th class=n>Commission</th></tr>{top}</table>"
        )
    return _page(title, "".join(parts))


def statement_charts(daily: list[dict], labels: dict | None = None) -> str:
    """Per currency, the month's attributed net GMV and commission by day (dates on x)
    and net GMV by asset (named by ``labels``, asset id -> name, where the caller knows
    the products): the charts the console draws, captioned so that a print names them."""
    labels = labels or {}
    charts = []
    for currency in sorted({row["currency"] for row in daily}):
        gmv: dict = defaultdict(Decimal)
        commission: dict = defaultdict(Decimal)
        by_asset: dict = defaultdict(Decimal)
        for row in daily:
            if row["currency"] == currency:
                gmv[row["day"]] += row["net_gmv"]
                commission[row["day"]] += row["commission"]
                by_asset[row["asset_id"]] += row["net_gmv"]
        days = sorted(gmv)
        title = f"Daily attributed net GMV and commission, {currency}"
        series = {
            "Net GMV": [(day, gmv[day]) for day in days],
            "Commission": [(day, commission[day]) for day in days],
        }
        charts.append((title, line_chart(title, series, y_label=currency)))
        top = sorted(by_asset.items(), key=lambda item: (-item[1], item[0]))[:8]
        title = f"Attributed net GMV by asset, {currency}"
        series = {"Net GMV": [(labels.get(a) or f"asset {a}", amount) for a, amount in top]}
        charts.append((title, bar_chart(title, series, y_label=currency, x_format=_short)))
    return "".join(
        f"<figure><figcaption>{html.escape(title)}</figcaption>{chart}</figure>"
        for title, chart in charts
    )


def _short(name: object) -> str:
    text = str(name)
    return text if len(text) <= 22 else text[:21] + "…"


def write_reconciliation(result: Reconciliation, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"reconciliation-{result.merchant_id}-{result.period:%Y-%m}"
    paths = {"csv": stem.with_suffix(".csv"), "html": stem.with_suffix(".html")}
    columns = [
        "outcome",
        "order_id",
        "line_id",
        "adreel_amount",
        "adreel_currency",
        "settlement_amount",
        "settlement_currency",
        "difference",
    ]
    with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(result.text_rows())
    totals = result.totals()
    summary = "".join(
        f"<tr><td>{outcome.replace('_', ' ')}</td><td class=n>{t['rows']}</td>"
        f"<td class=n>{_amounts(t['adreel'])}</td><td class=n>{_amounts(t['settlement'])}</td></tr>"
        for outcome, t in totals.items()
    )
    problems = "".join(
        f"<tr class=bad><td>{r['outcome'].replace('_', ' ')}</td><td>{html.escape(r['order_id'])}"
        f"</td><td>{html.escape(r['line_id'])}</td>"
        f"<td class=n>{money(r['adreel_amount'], r['adreel_currency'])}</td>"
        f"<td class=n>{money(r['settlement_amount'], r['settlement_currency'])}</td>"
        f"<td class=n>{_difference(r)}</td></tr>"
        for r in result.rows
        if r["outcome"] != "matched"
    )
    verdict = (
        "<p>Everything matches.</p>"
        if result.ok
        else f"<p class=bad>{sum(r['outcome'] != 'matched' for r in result.rows)} row(s) "
        "do not match.</p>"
    )
    body = (
        f"<p class=muted>Tolerance {result.tolerance}. adreel's amount is the line's net GMV "
        f"after refunds dated up to {result.refunds_until}, in the order's currency; the "
        f"difference is adreel's minus the settlement's.</p>{verdict}<table><tr><th>Outcome</th>"
        f"<th class=n>Rows</th><th class=n>adreel</th><th class=n>Settlement</th></tr>{summary}"
        "</table>"
    )
    if problems:
        body += (
            "<h2>Rows that do not match</h2><table><tr><th>Outcome</th><th>Order</th>"
            "<th>Line</th><th class=n>adreel</th><th class=n>Settlement</th>"
            "<th class=n>Difference</th></tr>"
            f"{problems}</table>"
        )
    title = f"Reconciliation {result.period:%B %Y} — {result.merchant_id}"
    paths["html"].write_text(_page(title, body), encoding="utf-8")
    return paths


def _difference(row: dict) -> str:
    if row["difference"] is not None:
        return money(row["difference"], row["adreel_currency"])
    if row["adreel_currency"] and row["settlement_currency"]:
        return "currencies differ"
    return ""


def _amounts(by_currency: dict[str, str]) -> str:
    return "<br>".join(money(Decimal(a), c) for c, a in by_currency.items())
