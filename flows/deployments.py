"""The flows adreel serves, as Prefect deployments: on demand, and one per scheduled
campaign with its cron and time zone. ``adreel serve`` serves them on one machine;
``infra/prefect.yaml`` deploys the same flows to work pools for a fleet."""

from __future__ import annotations

from prefect.schedules import Cron

from campaigns.service import scheduled_campaigns
from flows.campaign_flow import run_campaign
from flows.catalog_flow import ingest_catalog
from flows.finance_flow import CLOSE_CRON, close_period
from storage.db import Database


def build_deployments(db: Database) -> list:
    """On-demand deployments of each flow, plus one scheduled deployment per campaign."""
    scheduled = scheduled_campaigns(db)
    built = [
        ingest_catalog.to_deployment(name="ingest-catalog"),
        run_campaign.to_deployment(name="run-campaign"),
        close_period.to_deployment(name="close-period"),
        close_period.to_deployment(
            name="close-period-monthly", schedules=[Cron(CLOSE_CRON, timezone="UTC")]
        ),
    ]
    for campaign in scheduled:
        built.append(
            run_campaign.to_deployment(
                name=f"campaign-{campaign['campaign_id']}",
                schedules=[Cron(campaign["cron"], timezone=campaign["timezone"])],
                parameters={"campaign_id": campaign["campaign_id"]},
                tags=[f"merchant:{campaign['merchant_id']}"],
            )
        )
    return built
