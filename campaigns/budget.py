"""Render jobs within what the merchant can pay for: tokens held before, charged after.

Jobs go in the campaign's priority order, a chunk of batches at a time. Before a chunk
renders, each job's tokens are checked against the campaign's token budget and, when
the contract bills tokens, held on the wallet. The first job that does not fit stops
the run there (a lower priority never jumps ahead); it and every job after it are
reported as not rendered, with the reason. After the chunk, each rendered job's hold is
committed (tokens leave the wallet, revenue is recognised) and each failed job's hold
is voided. Holds are keyed by job and attempt, so a run that crashed and runs again
re-uses its holds rather than holding twice, and charges what the crashed run rendered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from billing.contracts import DEFAULT_MOTION_TOKENS, contract_at
from billing.errors import InsufficientTokens, LedgerError
from billing.money import TOKEN
from billing.tokens import commit_hold, find_hold, hold_tokens, usage_value, void_hold
from generation.dispatch import RenderFailed, run_render_jobs
from generation.jobs import RenderJob, get_render_jobs, usage_for_renders
from generation.motion import MOTION_MODEL_NAME
from storage.services import Services

log = logging.getLogger(__name__)

# Batches held at once: enough to keep a worker busy, little held while they render.
CHUNK_BATCHES = 2


@dataclass
class BudgetedRun:
    rendered: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    not_rendered: list[dict] = field(default_factory=list)
    # rendered, but lacking something (e.g. "rendered without product image: ...")
    warnings: list[dict] = field(default_factory=list)
    # what this run's renders cost: tokens drawn from the wallet, and their prepaid value
    committed_holds: list[str] = field(default_factory=list)
    usage: dict[str, Decimal] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "rendered": len(self.rendered),
            "reused": len(self.reused),
            "failed": self.failed,
            "not_rendered": self.not_rendered,
            "warnings": self.warnings,
            "tokens": int(self.usage.get(TOKEN, 0)),
            "token_value": {c: str(v) for c, v in sorted(self.usage.items()) if c != TOKEN},
        }


def render_within_budget(
    services: Services,
    merchant_id: str,
    request_hashes: list[str],
    budget_left: int | None,
    bill_tokens: bool,
    on_progress: Callable[[int], None] | None = None,
) -> BudgetedRun:
    """Render what fits, in the order given; ``budget_left`` None means no campaign cap."""
    jobs = _jobs(services, request_hashes)
    if bill_tokens:  # the contract says what a motion clip costs; tokens_for_render the rest
        motion_tokens = _motion_tokens(services, merchant_id)
        for job in jobs.values():
            if job["model"] == MOTION_MODEL_NAME:
                job["tokens"] = motion_tokens
    run = BudgetedRun(reused=[h for h in request_hashes if jobs[h]["status"] == "done"])
    if bill_tokens:  # what a crashed run rendered is charged now
        run.committed_holds += _settle(services, run.reused, jobs)
    if on_progress and run.reused:
        on_progress(len(run.reused))
    pending = [h for h in request_hashes if jobs[h]["status"] != "done"]
    chunk_size = services.settings.render_batch_size * CHUNK_BATCHES
    for start in range(0, len(pending), chunk_size):
        chunk = pending[start : start + chunk_size]
        held, stop_reason = _reserve(services, merchant_id, chunk, jobs, budget_left, bill_tokens)
        if budget_left is not None:
            budget_left -= sum(_tokens(jobs[h]) for h in held)
        if held:
            _render(services, held, run, on_progress)
            if bill_tokens:
                run.committed_holds += _settle(services, held, jobs)
        if stop_reason:
            run.not_rendered = [
                {"request_hash": h, "product_id": jobs[h]["product_id"], "reason": stop_reason}
                for h in pending[start + len(held) :]
            ]
            break
    if run.committed_holds:
        with services.db.connection() as conn:
            run.usage = usage_value(conn, run.committed_holds)
    return run


def _jobs(services: Services, request_hashes: list[str]) -> dict[str, dict]:
    with services.db.connection() as conn:
        return {job["request_hash"]: job for job in get_render_jobs(conn, request_hashes)}


def _tokens(job: dict) -> int:
    """What a job's render holds and, once it succeeds, charges."""
    return job.get("tokens") or RenderJob.from_row(job).tokens


def _motion_tokens(services: Services, merchant_id: str) -> int:
    """The contract's tokens per builtin:motion clip (in force today; the default when
    the merchant has no contract yet: its wallet then has nothing to hold anyway)."""
    with services.db.connection() as conn:
        try:
            _, contract = contract_at(conn, merchant_id, datetime.now(UTC).date())
        except LedgerError:
            return DEFAULT_MOTION_TOKENS
    return contract.motion.tokens_per_clip


def hold_key(job: dict) -> str:
    """One hold per attempt: a failed attempt's hold is voided, the next one holds anew."""
    return f"render:{job['request_hash']}:{job['attempts']}"


def _reserve(
    services: Services,
    merchant_id: str,
    chunk: list[str],
    jobs: dict[str, dict],
    budget_left: int | None,
    bill_tokens: bool,
) -> tuple[list[str], str | None]:
    """Hold tokens for the chunk's jobs in order; stop at the first that does not fit."""
    held: list[str] = []
    for request_hash in chunk:
        job = jobs[request_hash]
        tokens = _tokens(job)
        if budget_left is not None and tokens > budget_left:
            return held, (f"campaign token budget: needs {tokens} tokens, {budget_left} left")
        if bill_tokens:
            try:
                with services.db.connection() as conn:
                    _void_stale_hold(conn, job)
                    hold_tokens(conn, merchant_id, hold_key(job), tokens)
            except InsufficientTokens as exc:
                return held, (
                    f"wallet: needs {tokens} tokens, {exc.available} available; buy a token pack"
                )
        if budget_left is not None:
            budget_left -= tokens
        held.append(request_hash)
    return held, None


def _void_stale_hold(conn, job: dict) -> None:
    """A hold left by an attempt that failed in a run that then crashed: release it."""
    if job["attempts"] == 0:
        return
    stale = f"render:{job['request_hash']}:{job['attempts'] - 1}"
    hold = find_hold(conn, stale)
    if hold and hold.status == "held":
        void_hold(conn, stale)


def _render(
    services: Services,
    request_hashes: list[str],
    run: BudgetedRun,
    on_progress: Callable[[int], None] | None,
) -> None:
    try:
        run_render_jobs(request_hashes, services.settings, services.db, services.store, on_progress)
    except RenderFailed as exc:
        log.warning("%s", exc)
    after = _jobs(services, request_hashes)
    for request_hash in request_hashes:
        job = after[request_hash]
        if job["status"] == "done":
            run.rendered.append(request_hash)
            if job["warning"]:
                run.warnings.append(
                    {
                        "request_hash": request_hash,
                        "product_id": job["product_id"],
                        "warning": job["warning"],
                    }
                )
        else:
            run.failed.append(
                {
                    "request_hash": request_hash,
                    "product_id": job["product_id"],
                    "error": job["error"],
                }
            )


def _settle(
    services: Services, request_hashes: list[str], jobs_before: dict[str, dict]
) -> list[str]:
    """Commit the holds of rendered jobs at their usage date, void those of failed ones;
    return the keys committed now."""
    committed: list[str] = []
    if not request_hashes:
        return committed
    with services.db.connection() as conn:
        usage = {row["request_hash"]: row for row in usage_for_renders(conn, request_hashes)}
        now = {job["request_hash"]: job for job in get_render_jobs(conn, request_hashes)}
        for request_hash in request_hashes:
            key = hold_key(jobs_before[request_hash])
            hold = find_hold(conn, key)
            if hold is None or hold.status != "held":
                continue  # rendered before tokens were billed, or settled already
            if now[request_hash]["status"] == "done" and request_hash in usage:
                commit_hold(conn, key, usage[request_hash]["created_at"].astimezone(UTC).date())
                committed.append(key)
            else:
                void_hold(conn, key)
    return committed
