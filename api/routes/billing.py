"""Assets, wallet, contract and statements of one merchant."""

from __future__ import annotations

import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ACCOUNT_OPS, MERCHANT_OPS, merchant_for
from api.idempotency import idempotent, request_hash
from api.problems import responses
from api.render import render
from billing import service as billing
from generation.delivery import asset_url, merchant_assets
from storage.services import services

router = APIRouter(prefix="/v1/merchants/{merchant_id}", responses=responses(401, 403, 404, 422))
Reader = Annotated[str, Depends(merchant_for(*MERCHANT_OPS))]
Manager = Annotated[str, Depends(merchant_for(*ACCOUNT_OPS))]
PERIOD = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


def _today() -> date:
    return datetime.now(UTC).date()


class AssetList(BaseModel):
    merchant_id: str
    assets: list[dict[str, Any]]


class AssetLink(BaseModel):
    asset_id: int
    url: str
    expires_in: int


class Wallet(BaseModel):
    merchant_id: str
    balance: int
    held: int
    available: int


class PackPurchase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pack: str = Field(min_length=1, max_length=100, description="Pack name from the contract.")
    on: date | None = Field(None, description="Date of the purchase (default: today, UTC).")


class PackBought(BaseModel):
    merchant_id: str
    txn_id: int
    created: bool
    tokens: int
    price: str
    currency: str


class ContractShown(BaseModel):
    merchant_id: str
    version: int
    at: date
    terms: dict[str, Any]


@router.get("/assets", response_model=AssetList, tags=["assets"])
def list_assets(merchant_id: Reader, campaign: Annotated[str | None, Query(max_length=64)] = None):
    """The merchant's stored ads and posters, newest first."""
    found = merchant_assets(services(), merchant_id, campaign)
    return render({"merchant_id": merchant_id, "assets": found})


@router.get("/assets/{asset_id}/link", response_model=AssetLink, tags=["assets"])
def asset_link(
    merchant_id: Reader,
    asset_id: Annotated[int, PathParam(ge=1, le=2**62)],
    expires: Annotated[int, Query(ge=1, le=7 * 24 * 3600)] = 3600,
):
    """A presigned GET link to one asset."""
    url = asset_url(services(), merchant_id, asset_id, expires)
    return render({"asset_id": asset_id, "url": url, "expires_in": expires})


@router.get("/wallet", response_model=Wallet, tags=["billing"])
def wallet(merchant_id: Reader):
    """Tokens: balance, held by renders in flight, available."""
    tokens = billing.wallet(services().db, merchant_id)
    return render({"merchant_id": merchant_id, **{k: int(v) for k, v in tokens.items()}})


@router.post(
    "/wallet/packs",
    status_code=201,
    response_model=PackBought,
    tags=["billing"],
    responses={200: {"model": PackBought, "description": "Bought before under this key"}},
)
def buy_pack(
    request: Request,
    merchant_id: Manager,
    body: PackPurchase,
    idempotency_key: Annotated[
        str, Header(min_length=1, max_length=255, description="Also the purchase's own key.")
    ],
):
    """Credit the wallet with a contract pack's tokens at its price. The Idempotency-Key
    is required: it is the purchase's key in the ledger, so a replay never charges twice."""

    def run():
        on = body.on or _today()
        bought = billing.buy_token_pack(services().db, merchant_id, body.pack, idempotency_key, on)
        shown = {
            "merchant_id": merchant_id,
            "txn_id": bought.posted.txn_id,
            "created": bought.posted.created,
            "tokens": bought.pack.tokens,
            "price": bought.pack.price,
            "currency": bought.currency,
        }
        return (201 if bought.posted.created else 200), shown

    fingerprint = request_hash("pack", merchant_id, body.model_dump(mode="json"))
    return idempotent(request.state.api_key, idempotency_key, fingerprint, run)


@router.get("/contract", response_model=ContractShown, tags=["billing"])
def contract(merchant_id: Reader, at: date | None = None):
    """The contract version in force on ``at`` (default: today, UTC)."""
    on = at or _today()
    version, terms = billing.contract_in_force(services().db, merchant_id, on)
    shown = terms.model_dump(mode="json", by_alias=True)
    return render({"merchant_id": merchant_id, "version": version, "at": on, "terms": shown})


Period = Annotated[str, PathParam(pattern=PERIOD, description="Month, e.g. 2025-03.")]
STATEMENT_TYPES = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}


@router.post(
    "/contracts",
    status_code=201,
    response_model=ContractShown,
    tags=["billing"],
    responses={200: {"model": ContractShown, "description": "Created before under this key"}},
)
def create_contract(
    request: Request,
    merchant_id: Manager,
    terms: Annotated[dict[str, Any], Body(description="The contract file's fields, as JSON.")],
    idempotency_key: Annotated[str | None, Header()] = None,
):
    """Store a contract as the merchant's next version (the same schema as the YAML
    file; a merchant seen for the first time is created in its currency)."""

    def run():
        version, contract = billing.add_contract_terms(services().db, merchant_id, terms)
        shown = contract.model_dump(mode="json", by_alias=True)
        at = contract.effective_from
        return 201, {"merchant_id": merchant_id, "version": version, "at": at, "terms": shown}

    fingerprint = request_hash("contract", merchant_id, terms)
    return idempotent(request.state.api_key, idempotency_key, fingerprint, run)


@router.get("/statements/{period}", response_model=dict[str, Any], tags=["billing"])
def statement(merchant_id: Reader, period: Period, as_of: date | None = None):
    """A month's statement as JSON: totals per currency and kind, pending, due now, daily."""
    with tempfile.TemporaryDirectory(prefix="adreel-statement-") as folder:
        built, _files = billing.statement(
            services().db, merchant_id, period, as_of or _today(), Path(folder)
        )
    totals = {
        currency: {
            "by_kind": kinds,
            "total": built.total(currency),
            "due_now": built.due_now(currency),
        }
        for currency, kinds in built.totals.items()
    }
    return render(
        {
            "merchant_id": merchant_id,
            "period": period,
            "as_of": built.as_of,
            "totals": totals,
            "pending": built.pending,
            "daily": built.daily,
            "unattributed": built.unattributed,
        }
    )


@router.get(
    "/statements/{period}/{kind}",
    response_class=Response,
    tags=["billing"],
    responses={200: {"content": {t: {} for t in STATEMENT_TYPES.values()}}},
)
def statement_file(
    merchant_id: Reader,
    period: Period,
    kind: Literal["csv", "html"],
    as_of: date | None = None,
):
    """The statement as the CSV or HTML file ``adreel finance statement`` writes."""
    with tempfile.TemporaryDirectory(prefix="adreel-statement-") as folder:
        _built, files = billing.statement(
            services().db, merchant_id, period, as_of or _today(), Path(folder)
        )
        content = files[kind].read_bytes()
    name = files[kind].name
    return Response(
        content,
        media_type=STATEMENT_TYPES[kind],
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
