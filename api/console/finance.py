"""Finance pages: the month per merchant (statement, charts, unattributed orders),
imports, closing a month (after a confirmation), statements as CSV and print, reconciling
a settlement file, and contributor payouts.

Each handler calls the function `adreel finance ...` and `/v1/finance/...` call
(``attribution.service``, ``billing.service``); uploads go through ``api.uploads`` so a
refused file is named by its own name and nothing of it is stored.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import FINANCE_OPS
from api.console.charts import bar_chart, line_chart
from api.console.pages import PageRoute, checked_form, first, page, reachable, signed_in
from api.problems import ApiProblem
from api.uploads import save, upload_folder
from attribution.service import close_months, import_feed
from billing import service as billing
from billing.errors import LedgerError
from billing.periods import parse_period
from billing.statements import LABELS, ORDER, amount_text
from campaigns.service import asset_product_names
from storage.errors import AdreelError
from storage.merchants import all_merchant_ids, check_merchant
from storage.services import services

router = APIRouter(route_class=PageRoute, include_in_schema=False)
IMPORT_KINDS = {
    "orders": "Orders (CSV/JSON Lines, or a Shopify orders export)",
    "interactions": "Interactions (views and clicks)",
    "refunds": "Refunds",
    "fx": "FX rates",
}
MONTH_PAGE = 25
CHART_WIDTH = 960  # the page's width: one chart per row, labels at full size
FILE_TYPES = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


def _today() -> date:
    return datetime.now(UTC).date()


def _this_month() -> str:
    return _today().strftime("%Y-%m")


def _period(value: str) -> str:
    """A month, YYYY-MM (billing's own rule), or a 422 page that says so."""
    try:
        parse_period(value or "")
    except LedgerError as exc:
        raise ApiProblem(422, str(exc)) from None
    return value


def _merchant(request: Request, merchant_id: str):
    session = signed_in(request, *FINANCE_OPS)
    merchant_id = reachable(session, merchant_id)
    check_merchant(services().db, merchant_id)
    return session, merchant_id


def _statement(merchant_id: str, period: str, kind: str | None = None):
    """The month's statement (and, with ``kind``, its CSV or HTML file's bytes)."""
    with tempfile.TemporaryDirectory(prefix="adreel-statement-") as out:
        # only the HTML names ads by product: the pages and the CSV need no catalog read
        names = asset_product_names(services(), merchant_id) if kind == "html" else None
        built, files = billing.statement(
            services().db, merchant_id, period, _today(), Path(out), names
        )
        content = files[kind].read_bytes() if kind else None
        return built, content, (files[kind].name if kind else None)


def summary(built) -> list[dict]:
    """Per currency: attributed GMV and what the merchant owes for the month, by kind."""
    gmv: dict[str, Decimal] = defaultdict(Decimal)
    for row in built.daily:
        gmv[row["currency"]] += row["net_gmv"]
    rows = []
    for currency in sorted(set(built.totals) | set(gmv)):
        kinds = built.totals.get(currency, {})

        def text(amount, currency=currency):
            return amount_text(amount, currency)

        rows.append(
            {
                "currency": currency,
                "gmv": text(gmv.get(currency, 0)),
                "commission": text(kinds.get("accrued_commissions", 0)),
                "clawbacks": text(kinds.get("clawbacks", 0)),
                "true_up": text(kinds.get("tier_true_up", 0)),
                "other": text(
                    sum(
                        (
                            v
                            for k, v in kinds.items()
                            if k not in ("accrued_commissions", "clawbacks", "tier_true_up")
                        ),
                        Decimal(0),
                    )
                ),
                "total": text(sum(kinds.values(), Decimal(0))),
                "pending": text(built.pending.get(currency, 0)),
                "due_now": text(
                    sum(kinds.values(), Decimal(0)) - built.pending.get(currency, Decimal(0))
                ),
                "by_kind": [(LABELS[k], text(kinds[k])) for k in ORDER if k in kinds],
            }
        )
    return rows


# --- the month ---------------------------------------------------------------------------


@router.get("/finance")
def month_overview(request: Request, period: str = "", q: str = "", page_number: int = 1):
    """Every merchant's month: attributed GMV, commission, clawbacks, true-up, due now."""
    session = signed_in(request, *FINANCE_OPS)
    period = _period(period) if period else _this_month()
    ids = [m for m in all_merchant_ids(services().db) if q.lower() in m.lower()]
    pages = max(1, -(-len(ids) // MONTH_PAGE))
    page_number = min(max(1, page_number), pages)
    shown = ids[(page_number - 1) * MONTH_PAGE : page_number * MONTH_PAGE]
    rows = []
    for merchant_id in shown:
        built, _, _ = _statement(merchant_id, period)
        rows.append({"merchant_id": merchant_id, "currencies": summary(built)})
    return page(
        request,
        "finance_month.html",
        session,
        period=period,
        month=datetime.strptime(period, "%Y-%m"),
        rows=rows,
        q=q,
        total=len(ids),
        page_number=page_number,
        pages=pages,
    )


@router.get("/statements")
def statements(request: Request, merchant: str = "", period: str = ""):
    """Pick a merchant and month; with both, that month's page."""
    session = signed_in(request, *FINANCE_OPS)
    if merchant and period:
        return _merchant_month(request, merchant, _period(period))
    return page(
        request,
        "finance_statements.html",
        session,
        merchant=merchant,
        period=period or _this_month(),
    )


@router.get("/finance/m/{merchant_id}/{period}")
def merchant_month(request: Request, merchant_id: str, period: str):
    return _merchant_month(request, merchant_id, _period(period))


def _merchant_month(request: Request, merchant_id: str, period: str, **extra):
    session, merchant_id = _merchant(request, merchant_id)
    built, _, _ = _statement(merchant_id, period)
    return page(
        request,
        "finance_merchant.html",
        session,
        extra.pop("status_code", 200),
        merchant_id=merchant_id,
        period=period,
        statement=built,
        summary=summary(built),
        charts=_charts(merchant_id, built) if built.daily else [],
        **extra,
    )


def _charts(merchant_id: str, built) -> list[tuple[str, str]]:
    """Daily attributed GMV and commission (dates on x), and GMV by product (names)."""
    names = asset_product_names(services(), merchant_id)
    charts = []
    for currency in sorted({row["currency"] for row in built.daily}):
        rows = [r for r in built.daily if r["currency"] == currency]
        gmv: dict[date, Decimal] = defaultdict(Decimal)
        commission: dict[date, Decimal] = defaultdict(Decimal)
        by_product: dict[str, Decimal] = defaultdict(Decimal)
        for row in rows:
            gmv[row["day"]] += row["net_gmv"]
            commission[row["day"]] += row["commission"]
            by_product[names.get(row["asset_id"], "unknown")] += row["net_gmv"]
        days = sorted(gmv)
        title = f"Daily attributed GMV and commission, {currency}"
        charts.append(
            (
                title,
                line_chart(
                    title,
                    {
                        "Net GMV": [(d, gmv[d]) for d in days],
                        "Commission": [(d, commission[d]) for d in days],
                    },
                    y_label=currency,
                    width=CHART_WIDTH,
                ),
            )
        )
        top = sorted(by_product.items(), key=lambda item: -item[1])[:8]
        title = f"Attributed GMV by product, {currency}"
        charts.append(
            (
                title,
                bar_chart(
                    title,
                    {"Net GMV": [(name, amount) for name, amount in top]},
                    y_label=currency,
                    x_format=lambda name: name if len(name) <= 22 else name[:21] + "…",
                    width=CHART_WIDTH,
                ),
            )
        )
    return charts


@router.get("/finance/m/{merchant_id}/{period}/statement.{kind}")
def statement_file(request: Request, merchant_id: str, period: str, kind: str):
    """The statement as the CSV (download) or HTML (print) file `adreel finance statement`
    writes."""
    _merchant(request, merchant_id)
    if kind not in FILE_TYPES:
        raise ApiProblem(404, f"no statement.{kind}; there are statement.csv and statement.html")
    _, content, name = _statement(merchant_id, _period(period), kind)
    disposition = "attachment" if kind == "csv" else "inline"
    return Response(
        content,
        media_type=FILE_TYPES[kind],
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


# --- reconcile ---------------------------------------------------------------------------


@router.get("/finance/m/{merchant_id}/{period}/reconcile")
def reconcile_page(request: Request, merchant_id: str, period: str):
    session, merchant_id = _merchant(request, merchant_id)
    return page(
        request,
        "finance_reconcile.html",
        session,
        merchant_id=merchant_id,
        period=_period(period),
        result=None,
        tolerance="0.01",
    )


@router.post("/finance/m/{merchant_id}/{period}/reconcile")
async def reconcile(request: Request, merchant_id: str, period: str):
    """Match an uploaded settlement report against the month's attributed lines."""
    session = signed_in(request, *FINANCE_OPS)
    form = await checked_form(request, session)
    session, merchant_id = _merchant(request, merchant_id)
    period = _period(period)
    shown = {"merchant_id": merchant_id, "period": period, "tolerance": first(form, "tolerance")}
    upload = (form.get("settlement") or [None])[0]
    if not getattr(upload, "filename", None):
        return page(
            request,
            "finance_reconcile.html",
            session,
            422,
            **shown,
            result=None,
            error="Choose the settlement file to upload (order_id, line_id, amount, currency).",
        )
    try:
        tolerance = Decimal(shown["tolerance"] or "0.01")
        if not Decimal(0) <= tolerance <= Decimal(1000):
            raise InvalidOperation
    except InvalidOperation:
        return page(
            request,
            "finance_reconcile.html",
            session,
            422,
            **shown,
            result=None,
            error=f"tolerance: {shown['tolerance']!r} is not an amount from 0 to 1000",
        )
    try:
        with upload_folder("settlement") as folder:
            path, _ = save(upload, folder, "settlement.csv")
            result, _files = billing.reconcile_settlement(
                services().db, merchant_id, period, path, tolerance, folder / "out"
            )
    except ApiProblem as exc:
        return page(
            request,
            "finance_reconcile.html",
            session,
            exc.status,
            **shown,
            result=None,
            error=exc.detail,
            bad_rows=_problem_rows(exc),
        )
    return page(
        request,
        "finance_reconcile.html",
        session,
        **shown,
        result=result,
        file_name=path.name,
        money=amount_text,
        not_matched=[r for r in result.rows if r["outcome"] != "matched"],
    )


# --- imports -----------------------------------------------------------------------------


@router.get("/finance/imports")
def imports_page(request: Request):
    session = signed_in(request, *FINANCE_OPS)
    return page(request, "finance_imports.html", session, kinds=IMPORT_KINDS, result=None)


@router.post("/finance/imports")
async def import_file(request: Request):
    """Import a finance file whole or not at all, as `adreel finance import`."""
    session = signed_in(request, *FINANCE_OPS)
    form = await checked_form(request, session)
    kind, merchant_id = first(form, "kind"), first(form, "merchant_id") or None
    upload = (form.get("file") or [None])[0]
    shown = {"kinds": IMPORT_KINDS, "kind": kind, "merchant_id": merchant_id or ""}
    if kind not in IMPORT_KINDS:
        error = f"kind: choose one of {', '.join(IMPORT_KINDS)}"
    elif not getattr(upload, "filename", None):
        error = "Choose the file to import."
    else:
        if merchant_id:
            merchant_id = reachable(session, merchant_id)
        try:
            with upload_folder("finance") as folder:
                path, _ = save(upload, folder, f"{kind}.csv")
                result = import_feed(services().db, kind, path, merchant_id).as_dict()
        except ApiProblem as exc:
            return page(
                request,
                "finance_imports.html",
                session,
                exc.status,
                **shown,
                result=None,
                error=exc.detail,
                bad_rows=_problem_rows(exc),
            )
        return page(
            request,
            "finance_imports.html",
            session,
            **shown,
            result={**result, "file": path.name},
        )
    return page(request, "finance_imports.html", session, 422, **shown, result=None, error=error)


def _problem_rows(exc: ApiProblem) -> list[dict]:
    """A refused file's bad rows (file, row, field, problem), one by one."""
    return list(exc.extra.get("errors") or [])


# --- close a month -----------------------------------------------------------------------


@router.get("/finance/close")
def close_page(request: Request, period: str = ""):
    session = signed_in(request, *FINANCE_OPS)
    return page(
        request,
        "finance_close.html",
        session,
        period=_period(period) if period else _previous_month(),
        merchant_id="",
        confirming=False,
        closed=None,
    )


def _previous_month() -> str:
    today = _today()
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return f"{year:04d}-{month:02d}"


@router.post("/finance/close")
async def close(request: Request):
    """First answer: what will be closed, and a Confirm button; then close, as
    `adreel finance close` does."""
    session = signed_in(request, *FINANCE_OPS)
    form = await checked_form(request, session)
    period = _period(first(form, "period"))
    merchant_id = first(form, "merchant_id") or None
    if merchant_id:
        merchant_id = reachable(session, merchant_id)
        check_merchant(services().db, merchant_id)
    early = first(form, "early") == "yes"
    shown = {"period": period, "merchant_id": merchant_id or "", "early": early}
    if first(form, "confirmed") != "yes":
        return page(
            request,
            "finance_close.html",
            session,
            **shown,
            confirming=True,
            closed=None,
            month=datetime.strptime(period, "%Y-%m"),
        )
    db = services().db
    try:
        results = close_months(db, period, merchant_id, early)
    except AdreelError as exc:
        return page(
            request,
            "finance_close.html",
            session,
            422,
            **shown,
            confirming=False,
            closed=None,
            error=str(exc),
        )
    closed = [r.merchant_id for r in results if r.closed_now]  # period.closed queued by it
    return page(
        request,
        "finance_close.html",
        session,
        **shown,
        confirming=False,
        closed=[r.as_dict() for r in results],
        closed_now=closed,
    )


# --- payouts -----------------------------------------------------------------------------


@router.get("/finance/payouts")
def payouts_page(request: Request, period: str = ""):
    session = signed_in(request, *FINANCE_OPS)
    period = _period(period) if period else _previous_month()
    return _payouts(request, session, period)


def _payouts(request, session, period, status_code=200, **extra):
    result = billing.payouts(services().db, period)
    return page(
        request,
        "finance_payouts.html",
        session,
        status_code,
        period=period,
        contributors=result.contributors,
        **extra,
    )


@router.post("/finance/payouts")
async def pay(request: Request):
    """Record that a contributor was paid what is owed, once, under a reference."""
    session = signed_in(request, *FINANCE_OPS)
    form = await checked_form(request, session)
    period = _period(first(form, "period"))
    contributor, reference = first(form, "contributor"), first(form, "reference")
    if not contributor or not reference:
        return _payouts(
            request,
            session,
            period,
            422,
            error="A payment needs the contributor and the payment's reference.",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in contributor + reference) or len(reference) > 200:
        return _payouts(
            request,
            session,
            period,
            422,
            error="reference: at most 200 characters, without control characters",
        )
    try:
        result = billing.payouts(services().db, period, contributor, reference)
    except AdreelError as exc:
        return _payouts(request, session, period, 422, error=str(exc))
    if result.paid:
        notice = f"paid:{contributor}:{result.paid}"
    else:
        notice = f"already:{contributor}:{', '.join(result.already_paid or [])}"
    return RedirectResponse(f"/finance/payouts?period={period}&notice={notice}", status_code=303)
