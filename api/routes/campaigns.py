"""Campaigns of one merchant: account managers create and replace them (the same schema
as the YAML file, as JSON); everyone who reaches the merchant reads their status and
decides previews."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api import db as api_db
from api.auth import ACCOUNT_OPS, MERCHANT_OPS, merchant_for
from api.background import start_campaign_run
from api.problems import ApiProblem, responses
from api.render import render
from campaigns import service as campaigns
from storage.services import services

router = APIRouter(
    prefix="/v1/merchants/{merchant_id}/campaigns",
    tags=["campaigns"],
    responses=responses(401, 403, 404, 422),
)
Reader = Annotated[str, Depends(merchant_for(*MERCHANT_OPS))]
Manager = Annotated[str, Depends(merchant_for(*ACCOUNT_OPS))]
CampaignId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.\-]{1,64}$")]


class Saved(BaseModel):
    campaign_id: str
    merchant_id: str
    created: bool
    missing_products: list[str]


class CampaignList(BaseModel):
    campaigns: list[dict[str, Any]]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approved", "rejected"]
    asset_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        None, description="Preview video asset ids; omitted: every preview awaiting one."
    )
    reason: str | None = Field(None, max_length=1000, description="Required to reject.")

    @model_validator(mode="after")
    def _reason_for_rejects(self) -> Decision:
        if self.decision == "rejected" and not self.reason:
            raise ValueError("reason: a rejection needs a reason")
        return self


class Decided(BaseModel):
    campaign_id: str
    decision: str
    applied: list[int]


@router.put("/{campaign_id}", response_model=Saved, responses={201: {"model": Saved}})
def put_campaign(
    merchant_id: Manager,
    campaign_id: CampaignId,
    spec: Annotated[dict[str, Any], Body(description="The campaign file's fields, as JSON.")],
    allow_missing: bool = False,
):
    """Create the campaign or replace it (200 replaced, 201 created). ``campaign`` in
    the body may be left out; if given it must be the path's id."""
    named = spec.setdefault("campaign", campaign_id)
    if named != campaign_id:
        raise ApiProblem(
            422, f"campaign: {named!r} is not the path's {campaign_id!r}", field="campaign"
        )
    saved, created, missing = campaigns.save_campaign_spec(
        services().db, merchant_id, spec, "campaign", allow_missing
    )
    body = {
        "campaign_id": saved.campaign,
        "merchant_id": merchant_id,
        "created": created,
        "missing_products": missing,
    }
    return render(body, 201 if created else 200)


@router.get("", response_model=CampaignList)
def list_campaigns(merchant_id: Reader):
    return render({"campaigns": campaigns.list_campaigns(services().db, merchant_id)})


class RunStarted(BaseModel):
    campaign_id: str
    merchant_id: str
    status: str
    status_url: str


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approval_wait_s: float = Field(
        0, ge=0, le=3600, description="Seconds to wait for decisions on new previews."
    )


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cron: str = Field(min_length=1, max_length=200, description='e.g. "0 6 * * 1".')
    timezone: str = Field("UTC", min_length=1, max_length=64, description="IANA time zone.")


class Scheduled(BaseModel):
    campaign_id: str
    cron: str | None
    timezone: str | None
    next_run: datetime | None


class Materials(BaseModel):
    campaign_id: str
    merchant_id: str
    expires_in: int
    materials: list[dict[str, Any]]


@router.get("/{campaign_id}", response_model=dict[str, Any], name="campaign_status")
async def campaign_status(merchant_id: Reader, campaign_id: CampaignId):
    """Every material (preview, decision, final, delivery), tokens used and spent, runs."""
    async with api_db.pool().connection() as conn:
        return render(await campaigns.campaign_status_async(conn, campaign_id, merchant_id))


@router.post("/{campaign_id}/decisions", response_model=Decided)
def decide(merchant_id: Reader, campaign_id: CampaignId, body: Decision):
    """Approve or reject previews, all or nothing: the next run renders approved finals."""
    applied = campaigns.decide(
        services().db, campaign_id, body.decision, body.asset_ids, body.reason, merchant_id
    )
    return render({"campaign_id": campaign_id, "decision": body.decision, "applied": applied})


@router.post("/{campaign_id}/runs", status_code=202, response_model=RunStarted)
def run(
    request: Request,
    merchant_id: Manager,
    campaign_id: CampaignId,
    body: RunRequest | None = None,
):
    """Start a run (previews, finals of approved previews, delivery) in the background
    and answer at once (202): rendering takes minutes. Follow it at ``status_url``; a
    second run while one is going is refused inside the run (its status says so).
    ``previews.ready`` and ``finals.delivered`` webhooks are queued when it ends."""
    wait_s = (body or RunRequest()).approval_wait_s
    start_campaign_run(services(), merchant_id, campaign_id, wait_s)
    url = str(request.url_for("campaign_status", merchant_id=merchant_id, campaign_id=campaign_id))
    return render(
        {
            "campaign_id": campaign_id,
            "merchant_id": merchant_id,
            "status": "started",
            "status_url": url,
        },
        202,
        {"Location": url},
    )


@router.put("/{campaign_id}/schedule", response_model=Scheduled)
def schedule(merchant_id: Manager, campaign_id: CampaignId, body: Schedule):
    """Run the campaign on a cron schedule (served by `adreel serve`)."""
    first = campaigns.set_schedule(
        services().db, campaign_id, body.cron, body.timezone, merchant_id
    )
    shown = {"campaign_id": campaign_id, "cron": body.cron, "timezone": body.timezone}
    return render({**shown, "next_run": first})


@router.delete("/{campaign_id}/schedule", response_model=Scheduled)
def unschedule(merchant_id: Manager, campaign_id: CampaignId):
    """Remove the schedule: the campaign runs on demand only."""
    campaigns.set_schedule(services().db, campaign_id, None, "UTC", merchant_id)
    return render({"campaign_id": campaign_id, "cron": None, "timezone": None, "next_run": None})


@router.get("/{campaign_id}/materials", response_model=Materials)
def materials(
    merchant_id: Reader,
    campaign_id: CampaignId,
    expires: Annotated[int, Query(ge=1, le=7 * 24 * 3600)] = 3600,
):
    """Every material with presigned links to its preview and final video and poster."""
    found = campaigns.material_links(services(), campaign_id, merchant_id, expires)
    shown = {"campaign_id": campaign_id, "merchant_id": merchant_id, "expires_in": expires}
    return render({**shown, "materials": found})
