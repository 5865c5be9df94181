"""``run_campaign``: plan, check the budget, render previews, wait for the merchant's
decisions, render the approved finals, deliver them, bill them.

Every step is keyed on its inputs in PostgreSQL (render jobs by content hash, holds by
job and attempt, charges by idempotency key), so a rerun of a finished or crashed run
skips what is done and charges nothing twice. One run per campaign at a time: a second
run started meanwhile is refused (``CampaignBusy``). Approval does not hold a worker:
with no decision yet the run ends as ``awaiting_approval``; after ``campaign approve``
the next run (scheduled, or ``campaign run``) picks up from there. ``approval_wait_s``
keeps the run polling for decisions for that long first, for someone watching.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.concurrency.sync import concurrency
from prefect.tasks import exponential_backoff

from campaigns import runs
from campaigns.spec import CampaignSpec
from flows.progress import tracker
from storage.services import is_transient, services

# Scheduled campaigns share the GPUs through this Prefect concurrency limit
# (`prefect gcl create adreel-gpu --limit N`; without it, renders are not limited).
GPU_LIMIT = "adreel-gpu"
APPROVAL_POLL_S = 2.0


def _transient(task, task_run, state) -> bool:
    """Retry faults of the database, object store or broker; never a user's mistake."""
    try:
        state.result()
    except Exception as exc:
        return is_transient(exc)
    return False


RETRIES = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(backoff_factor=2),
    "retry_condition_fn": _transient,
}


@task(**RETRIES)
def plan_previews(campaign_id: str) -> dict:
    """Select the products, plan one preview job per material, record the materials."""
    return runs.plan_previews(services(), campaign_id)


@task(**RETRIES)
def render_stage(
    campaign_id: str, merchant_id: str, request_hashes: list[str], stage: str, bill_tokens: bool
) -> dict:
    """Render a stage's jobs within the campaign budget and the wallet, on the GPU limit."""
    progress = tracker(f"rendering {stage}s of {campaign_id}", total=len(request_hashes))
    with concurrency(GPU_LIMIT, occupy=1, strict=False):
        return runs.render_stage(
            services(), campaign_id, merchant_id, request_hashes, bill_tokens, progress
        )


@task
def await_decisions(campaign_id: str, wait_s: float) -> dict:
    """Poll for the merchant's decisions on rendered previews for up to ``wait_s``."""
    deadline = time.monotonic() + wait_s
    while True:
        counts = runs.decision_counts(services().db, campaign_id)
        if counts["pending"] == 0 or time.monotonic() >= deadline:
            return counts
        time.sleep(APPROVAL_POLL_S)


@task(**RETRIES)
def plan_finals(campaign_id: str) -> list[str]:
    """A final job for each approved preview, same material at the final profile."""
    return runs.plan_finals(services(), campaign_id)


@task(**RETRIES)
def deliver(campaign_id: str, merchant_id: str, bill_raas: bool, out_dir: str) -> dict:
    """Mark rendered finals delivered, charge RaaS once each, write manifest and sheet."""
    return runs.deliver(services(), campaign_id, merchant_id, bill_raas, out_dir)


@task(**RETRIES)
def review_sheet(campaign_id: str, out_dir: str) -> str | None:
    """The previews awaiting a decision as one PNG, beside the delivery, for review."""
    return runs.review_sheet(services(), campaign_id, out_dir)


@flow(name="run_campaign")
def run_campaign(campaign_id: str, approval_wait_s: float = 0, out_dir: str | None = None) -> dict:
    with runs.recorded_run(services(), campaign_id) as summary:
        _, spec = runs.load_campaign(services().db, campaign_id)
        summary.update(
            _run_steps(campaign_id, summary["merchant_id"], spec, approval_wait_s, out_dir, summary)
        )
    get_run_logger().info("campaign %s: %s", campaign_id, summary["status"])
    return summary


def _run_steps(
    campaign_id: str,
    merchant_id: str,
    spec: CampaignSpec,
    approval_wait_s: float,
    out_dir: str | None,
    summary: dict,
) -> dict:
    # 1. The contract in force prices what this run makes, or the run stops here.
    today = datetime.now(UTC).date()
    version, contract = runs.billing_terms(services().db, merchant_id, spec, today)
    bill_tokens = "tokens" in contract.modes
    summary["contract_version"] = version
    # 2. Select products and plan one preview per material, by content hash.
    planned = plan_previews(campaign_id)
    summary["products"] = planned["products"]
    summary["missing_products"] = planned["missing_products"]
    # 3. Render previews within the token budget and the wallet, in priority order.
    summary["previews"] = render_stage(
        campaign_id, merchant_id, planned["previews"], "preview", bill_tokens
    )
    # 4. The merchant's decisions (waiting up to approval_wait_s for them).
    summary["decisions"] = await_decisions(campaign_id, approval_wait_s)
    # 5. Finals for approved previews only.
    finals = plan_finals(campaign_id)
    summary["finals"] = render_stage(campaign_id, merchant_id, finals, "final", bill_tokens)
    # 6. Deliver: mark, bill RaaS once per material, write the manifest and contact sheet.
    target = out_dir or str(runs.delivery_dir(services(), campaign_id))
    summary["delivery"] = deliver(campaign_id, merchant_id, "raas" in contract.modes, target)
    pending = summary["decisions"]["pending"]
    summary["status"] = "awaiting_approval" if pending else "delivered"
    # 7. A contact sheet of the previews still awaiting a decision, for the review.
    summary["preview_sheet"] = review_sheet(campaign_id, target)
    return summary
