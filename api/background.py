"""Work the API starts and does not wait for: catalog uploads, campaign runs, and the
webhook delivery worker. They run in daemon threads of the API process; with several
API processes each runs its own (upload jobs are held with an advisory lock, deliveries
are claimed with SKIP LOCKED, campaign runs hold a per-campaign lock, so nothing is done
twice, and a job whose process died is taken over by another)."""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path

from api.problems import problem_body
from campaigns import service as campaigns
from catalog.errors import CatalogError
from storage.errors import AdreelError
from storage.keys import keep_key_cache
from storage.services import Services, is_transient
from storage.upload_jobs import claim_job, finish_job
from storage.webhooks import delivery_loop

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
    log.info("campaign %s: %s", campaign_id, summary.get("status"))
    # previews.ready and finals.delivered are queued by the run itself (campaigns.runs)


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


def start_key_cache(services: Services) -> threading.Event:
    """The API key cache's listener (revokes) and last-use writer in a thread; set the
    returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=keep_key_cache, args=(services.db.url, stop), name="api-key-cache", daemon=True
    )
    thread.start()
    return stop


# Set by a new upload job in this process, so its worker starts on it at once; jobs of
# other (perhaps dead) processes are found by polling.
_catalog_wake = threading.Event()
CATALOG_POLL_S = 5.0


def start_catalog_jobs(services: Services) -> threading.Event:
    """The catalog upload worker in a thread (one upload at a time per process); set
    the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_catalog_jobs, args=(services, stop), name="catalog-uploads", daemon=True
    )
    thread.start()
    return stop


def wake_catalog_jobs() -> None:
    _catalog_wake.set()


def _catalog_jobs(services: Services, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            while not stop.is_set() and run_catalog_job(services):
                pass
        except Exception:
            log.exception("catalog upload worker: looking again in %s s", CATALOG_POLL_S)
        _catalog_wake.wait(CATALOG_POLL_S)
        _catalog_wake.clear()


def run_catalog_job(services: Services) -> bool:
    """Process the oldest waiting upload job, if any: the stored file through
    ``upload_catalog`` (which queues ``catalog.processed``), its outcome recorded."""
    from catalog.upload import upload_catalog  # pandas and the validation suite: only here

    with claim_job(services.db) as job:
        if job is None:
            return False
        options = job["options"]
        with tempfile.TemporaryDirectory(prefix="adreel-upload-") as folder:
            path = Path(folder) / job["file_name"]
            try:
                services.store.download(job["object_key"], path)
                result = upload_catalog(
                    services,
                    job["merchant_id"],
                    path,
                    options.get("format"),
                    options.get("currency"),
                    options.get("images", "upload"),
                    mode=options.get("mode", "full"),
                ).as_dict()
            except Exception as exc:
                if is_transient(exc):  # the database or the store: the job waits
                    log.warning("catalog upload job %s: %s; retrying", job["job_id"], exc)
                    return False
                if not isinstance(exc, AdreelError | CatalogError):
                    log.exception("catalog upload job %s failed", job["job_id"])
                finish_job(services.db, job["job_id"], problem=problem_body(exc))
                return True
        result["file"] = job["file_name"]
        finish_job(services.db, job["job_id"], result=result)
    return True
