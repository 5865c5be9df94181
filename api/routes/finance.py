"""Finance (finance and admin keys): import what the outside world reports, close
months, reconcile settlement reports, pay contributors; read unattributed orders.

Imports and settlement reports are multipart uploads, capped like catalog uploads
(ADREEL_API_MAX_UPLOAD_MB). A refused file answers one problem document whose
``errors`` list each bad row's file, row and field; nothing of it is stored.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.auth import FINANCE_OPS, MERCHANT_ID, allow, merchant_for
from api.idempotency import idempotent, request_hash
from api.problems import responses
from api.render import render
from api.routes.billing import PERIOD
from api.uploads import save, upload_folder
from attribution.service import close_months, import_feed
from billing import service as billing
from storage.keys import ApiKey
from storage.services import services

router = APIRouter(prefix="/v1", tags=["finance"], responses=responses(401, 403, 422))
Finance = Annotated[ApiKey, Depends(allow(*FINANCE_OPS))]
FinanceMerchant = Annotated[str, Depends(merchant_for(*FINANCE_OPS))]
Period = Annotated[str, PathParam(pattern=PERIOD, description="Month, e.g. 2025-03.")]


class Imported(BaseModel):
    model_config = ConfigDict(extra="allow")
    kind: str
    file: str
    rows: int
    new: int
    replayed: int


class CloseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    merchant_id: str | None = Field(
        None, pattern=MERCHANT_ID, description="One merchant (default: every merchant)."
    )
    early: bool = Field(
        False, description="Close a month that has not ended yet (UTC), as `--early`."
    )


class Closed(BaseModel):
    period: str
    closed: list[str]
    already_closed: list[str]
    merchants: list[dict[str, Any]]


NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"


class Payment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    contributor: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_CHARS)
    reference: str = Field(
        min_length=1,
        max_length=200,
        pattern=NO_CONTROL_CHARS,
        description="The payment's reference.",
    )


class PayoutList(BaseModel):
    period: str
    contributors: list[dict[str, Any]]
    paid: str | None = None
    already_paid: list[str] | None = None


@router.post("/finance/imports/{kind}", response_model=Imported, responses=responses(413))
def import_file(
    request: Request,
    key: Finance,
    kind: Literal["interactions", "orders", "refunds", "fx"],
    file: Annotated[UploadFile, File(description="CSV or JSON Lines.")],
    merchant_id: Annotated[
        str | None,
        Form(pattern=MERCHANT_ID, description="Merchant of a Shopify orders export."),
    ] = None,
    idempotency_key: Annotated[str | None, Header()] = None,
):
    """Import a finance file whole or not at all, then attribute and accrue; rows
    imported before are skipped (``replayed``)."""
    with upload_folder("finance") as folder:
        path, digest = save(file, folder, f"{kind}.csv")
        fingerprint = request_hash("import", kind, digest, merchant_id)

        def run():
            result = import_feed(services().db, kind, path, merchant_id).as_dict()
            return 200, {**result, "file": path.name}

        return idempotent(request.state.api_key, idempotency_key, fingerprint, run)


@router.post("/finance/periods/{period}/close", response_model=Closed)
def close(key: Finance, period: Period, body: CloseRequest | None = None):
    """Close a month: last accruals, tier true-up, contributor shares, then lock it. A
    month that has not ended is refused unless ``early`` (the rule of
    ``attribution.service.close_months``). Queues ``period.closed`` for each merchant
    closed now."""
    asked = body or CloseRequest()
    db = services().db
    results = close_months(db, period, asked.merchant_id, asked.early)
    closed = [r.merchant_id for r in results if r.closed_now]
    return render(
        {
            "period": period,
            "closed": closed,
            "already_closed": sorted({r.merchant_id for r in results} - set(closed)),
            "merchants": [r.as_dict() for r in results],
        }
    )


@router.get("/finance/payouts/{period}", response_model=PayoutList)
def payouts(key: Finance, period: Period):
    """What each template contributor earned, was paid and is owed for a closed month."""
    result = billing.payouts(services().db, period)
    return render({"period": period, "contributors": result.contributors})


@router.post(
    "/finance/payouts/{period}/payments",
    status_code=201,
    response_model=PayoutList,
    responses={200: {"model": PayoutList, "description": "Paid before: nothing recorded"}},
)
def pay(
    request: Request,
    key: Finance,
    period: Period,
    body: Payment,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=255)],
):
    """Record that a contributor was paid what is owed (once; a second payment of the same
    month records nothing and names the first reference). Idempotency-Key required."""

    def run():
        result = billing.payouts(services().db, period, body.contributor, body.reference)
        shown = {
            "period": period,
            "contributors": result.contributors,
            "paid": result.paid,
            "already_paid": result.already_paid,
        }
        return (201 if result.paid else 200), shown

    fingerprint = request_hash("pay", period, body.model_dump(mode="json"))
    return idempotent(request.state.api_key, idempotency_key, fingerprint, run)


@router.post(
    "/merchants/{merchant_id}/reconciliations/{period}",
    response_model=dict[str, Any],
    responses=responses(404, 413),
)
def reconcile(
    merchant_id: FinanceMerchant,
    period: Period,
    settlement: Annotated[
        UploadFile, File(description="Settlement report: order_id, line_id, amount, currency.")
    ],
    tolerance: Annotated[Decimal, Form(ge=0, le=1000)] = Decimal("0.01"),
    as_of: Annotated[date | None, Form(description="Refunds dated up to this day.")] = None,
):
    """Match a settlement report against the month's attributed lines: ``ok`` false when
    anything differs (the CLI's exit 3), with every row's outcome."""
    with upload_folder("settlement") as folder:
        path, _digest = save(settlement, folder, "settlement.csv")
        result, _files = billing.reconcile_settlement(
            services().db, merchant_id, period, path, tolerance, folder / "out", as_of
        )
        return render({**result.as_dict(), "ok": result.ok})


@router.get("/merchants/{merchant_id}/unattributed/{period}", response_model=dict[str, Any])
def unattributed(merchant_id: FinanceMerchant, period: Period):
    """A month's orders that no ad was credited with, and why."""
    orders = billing.unattributed(services().db, merchant_id, period)
    return render({"merchant_id": merchant_id, "period": period, "orders": orders})
