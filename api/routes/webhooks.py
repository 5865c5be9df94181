"""Webhook endpoints of one merchant, registered with the merchant's key or a staff key
(see storage/webhooks.py for events, signatures, retries and where events are queued)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from api.auth import MERCHANT_OPS, merchant_for
from api.idempotency import idempotent, request_hash
from api.problems import responses
from api.render import render
from storage import webhooks
from storage.services import services

router = APIRouter(
    prefix="/v1/merchants/{merchant_id}/webhooks",
    tags=["webhooks"],
    responses=responses(401, 404, 422),
)
Merchant = Annotated[str, Depends(merchant_for(*MERCHANT_OPS))]
EndpointId = Annotated[int, PathParam(ge=1, le=2**62)]
Event = Literal["catalog.processed", "previews.ready", "finals.delivered", "period.closed"]


class NewEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://", max_length=2000)
    events: list[Event] = Field(min_length=1)


class Endpoint(BaseModel):
    endpoint_id: int
    merchant_id: str
    url: str
    events: list[str]
    created_at: datetime
    secret: str | None = Field(None, description="Shown once, when the endpoint is created.")


class EndpointList(BaseModel):
    endpoints: list[Endpoint]


class DeliveryLog(BaseModel):
    endpoint_id: int
    deliveries: list[dict[str, Any]]


@router.post("", status_code=201, response_model=Endpoint)
def add(
    request: Request,
    merchant_id: Merchant,
    body: NewEndpoint,
    idempotency_key: Annotated[str | None, Header()] = None,
):
    """Register an endpoint for events; the answer carries its signing secret, once."""
    key = request.state.api_key

    def run():
        return 201, webhooks.add_endpoint(
            services().db, merchant_id, body.url, list(body.events), key.key_id
        )

    fingerprint = request_hash("webhook", merchant_id, body.model_dump(mode="json"))
    return idempotent(key, idempotency_key, fingerprint, run)


@router.get("", response_model=EndpointList)
def list_endpoints(merchant_id: Merchant):
    return render({"endpoints": webhooks.list_endpoints(services().db, merchant_id)})


@router.delete("/{endpoint_id}", status_code=204)
def remove(merchant_id: Merchant, endpoint_id: EndpointId):
    """Stop sending to the endpoint; its queued deliveries are given up."""
    webhooks.remove_endpoint(services().db, merchant_id, endpoint_id)


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryLog)
def deliveries(
    merchant_id: Merchant,
    endpoint_id: EndpointId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """The delivery log: each event, its tries (answer or error), delivered or not."""
    found = webhooks.deliveries(services().db, merchant_id, endpoint_id, limit)
    return render({"endpoint_id": endpoint_id, "deliveries": found})
