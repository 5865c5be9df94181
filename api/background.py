"""Work the API starts and does not wait for: campaign runs, and the webhook delivery
worker. Both run in daemon threads of the API process; with several API processes each
runs its own (deliveries are claimed with SKIP LOCKED, campaign runs hold a per-campaign
lock, so nothing is done twice)."""

from __future__ import annotations

import logging
import threading
import uuid

from campaigns import service as campaigns
from storage.services import Services
from storage.webhooks import delivery_loop, emit

log = logging.getLogger(__name__)


def start_campaign_run(services: Services, merchant_id: str, campaign_id: str, wait_s: float):
    """Start ``flows.campaign_flow.run_campaign`` in a thread, once the campaign is known
    to be the merchant's (404 otherwise, before anything starts)."""
    campaigns.campaign_status(services.db, campaign_id, merchant_id)
    thread = threading.Thread(
        target=_run_campaign,
        args=(services, merchant_id, campaign_id, wait_s),
        name=f"campaign-run-{campaign_id}",
        daemon=True,
    )
    thread.start()


def _run_campaign(services: Services, merchant_id: str, campaign_id: str, wait_s: float):
    # Prefect and the renderers load here, in the thread, never at API start-up.
    from flows.campaign_flow import run_campaign
    from flows.services import configure_prefect, preflight

    try:
        configure_prefect(services.settings)
        preflight(services.settings)
        summary = run_campaign(campaign_id=campaign_id, approval_wait_s=wait_s)
    except Exception:
        log.exception("campaign %s: the run started over the API failed", campaign_id)
        return
    run = uuid.uuid4().hex  # each run that made something new tells it once
    previews = summary.get("previews") or {}
    if previews.get("rendered"):
        data = {"campaign_id": campaign_id, "rendered": previews["rendered"]}
        emit(services.db, merchant_id, "previews.ready", f"{campaign_id}:{run}", data)
    delivered = (summary.get("delivery") or {}).get("delivered")
    if delivered:
        data = {"campaign_id": campaign_id, "delivered": delivered}
        emit(services.db, merchant_id, "finals.delivered", f"{campaign_id}:{run}", data)


def start_webhook_delivery(services: Services, interval_s: float) -> threading.Event:
    """The delivery worker in a thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=delivery_loop,
        args=(services.db, stop, interval_s),
        name="webhook-delivery",
        daemon=True,
    )
    thread.start()
    return stop
