"""Render a batch of planned jobs end to end: clip, composition, upload, asset rows.

This is the one piece of code behind both paths: called in-process when no broker
is configured, and by the Celery task on a worker. It takes job ids, re-reads their
state, and skips what is already done, so running it twice is harmless.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from generation.composer import AdRequest, BrandKit, ComposedAd, ProductCopy, compose_ad
from generation.engine import RenderedClip, RenderRequest, render_requests
from generation.metering import tokens_for
from generation.models import load_pipeline
from storage.assets import record_asset
from storage.db import Database
from storage.objects import ObjectStore, StorageError, asset_key, sha256_file
from storage.renders import get_render_jobs, mark_render_jobs, record_usage
from storage.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchResult:
    rendered: list[str]
    skipped: list[str]


def render_batch(
    request_hashes: list[str],
    settings: Settings,
    db: Database,
    store: ObjectStore,
    on_job_done: Callable[[int], None] | None = None,
) -> BatchResult:
    with db.connection() as conn:
        jobs = get_render_jobs(conn, request_hashes)
    pending = [job for job in jobs if job["status"] != "done"]
    skipped = [job["request_hash"] for job in jobs if job["status"] == "done"]
    if not pending:
        return BatchResult([], skipped)
    pipe = _load_or_fail(pending, settings, db)
    requests, readable, images = [], [], {}
    for job in pending:
        try:
            # Read once: the same image conditions the clip and goes into the ad.
            images[job["request_hash"]] = _product_image(job, store)
            requests.append(_to_request(job, images[job["request_hash"]]))
            readable.append(job)
        except (StorageError, OSError, UnidentifiedImageError) as exc:
            # One unreadable product image fails its own request, not its batch.
            _fail(db, [job], f"product image unreadable: {exc}")
            if on_job_done:
                on_job_done(1)
    try:
        clips = render_requests(pipe, requests, max_batch=settings.render_batch_size)
        for job, clip in zip(readable, clips, strict=True):
            _compose_and_store(job, clip, images[job["request_hash"]], settings, db, store)
            if on_job_done:
                on_job_done(1)
    except Exception as exc:
        _fail(db, readable, f"{type(exc).__name__}: {exc}")
        raise
    return BatchResult([job["request_hash"] for job in readable], skipped)


def _load_or_fail(pending: list[dict], settings: Settings, db: Database):
    try:
        return load_pipeline(pending[0]["model"], settings.home, settings.device)
    except Exception as exc:
        _fail(db, pending, f"{type(exc).__name__}: {exc}")
        raise


def _fail(db: Database, jobs: list[dict], error: str) -> None:
    with db.connection() as conn:
        mark_render_jobs(conn, [job["request_hash"] for job in jobs], "failed", error)


def _to_request(job: dict, product_image: Image.Image) -> RenderRequest:
    spec = job["spec"]
    return RenderRequest(
        request_hash=job["request_hash"],
        image=product_image.resize((spec["width"], spec["height"])),
        prompt=spec["prompt"],
        negative_prompt=spec["negative_prompt"],
        seed=spec["seed"],
        width=spec["width"],
        height=spec["height"],
        num_frames=spec["num_frames"],
        steps=spec["steps"],
        guidance=spec["guidance"],
        max_sequence_length=spec["max_sequence_length"],
        upscale=(spec.get("upscale") or {}).get("model"),
    )


def _product_image(job: dict, store: ObjectStore) -> Image.Image:
    return Image.open(io.BytesIO(store.read(job["image_key"]))).convert("RGB")


def _compose_and_store(
    job: dict,
    clip: RenderedClip,
    product_image: Image.Image,
    settings: Settings,
    db: Database,
    store: ObjectStore,
) -> None:
    """Compose the ad from its clip and product data, then store it."""
    spec = job["spec"]
    product = ProductCopy(
        title=job["title"],
        price=job["price"],
        currency=job["currency"],
        sale_price=job.get("sale_price"),
        description=job.get("description") or "",
        brand=job["brand"] or "",
        image=product_image,
    )
    request = AdRequest(
        template=spec["template"],
        ad_format=spec["format"],
        products=(product,),
        duration_s=spec["duration_s"],
        platforms=tuple(spec.get("platforms", ("tiktok",))),
        locale=spec.get("locale", "en_US"),
        brand=BrandKit(name=job["brand"] or ""),
        preview=job["profile"] == "preview",
        long_side=max(spec["output_width"], spec["output_height"]),
        clip_frames=clip.frames,
        clip_fps=spec["clip_fps"],
    )
    with tempfile.TemporaryDirectory(prefix="adreel-compose-") as scratch:
        ad = compose_ad(request, Path(scratch))
        save_outputs(job, ad, settings.s3_prefix, db, store)


def save_outputs(job: dict, ad: ComposedAd, prefix: str, db: Database, store: ObjectStore) -> None:
    """Objects first, then the asset rows and the job's status in one transaction: a row
    never points at a missing object, and a failed upload leaves no row."""
    variant = f"{job['spec']['format']}-{job['profile']}"
    rows = [
        _store_output(store, prefix, job, variant, path, content_type)
        for path, content_type in ((ad.video_path, "video/mp4"), (ad.poster_path, "image/jpeg"))
    ]
    with db.connection() as conn, conn.transaction():
        for row in rows:
            record_asset(conn, {**row, "width": ad.width, "height": ad.height})
        record_usage(conn, usage_row(job))
        mark_render_jobs(conn, [job["request_hash"]], "done")


def usage_row(job: dict) -> dict:
    """What the model generated for this job, metered in tokens (failed renders: none)."""
    spec = job["spec"]
    width, height, frames = spec["width"], spec["height"], spec["num_frames"]
    return {
        "request_hash": job["request_hash"],
        "merchant_id": job["merchant_id"],
        "campaign_id": spec.get("campaign_id"),
        "model": job["model"],
        "profile": job["profile"],
        "width": width,
        "height": height,
        "frames": frames,
        "tokens": tokens_for(width, height, frames),
    }


def _store_output(
    store: ObjectStore, prefix: str, job: dict, variant: str, path: Path, content_type: str
) -> dict:
    """Upload one output under its content address (once) and describe its asset row."""
    digest = sha256_file(path)
    ext = path.suffix.lstrip(".")
    key = asset_key(prefix, job["merchant_id"], digest, variant, ext)
    spec = job["spec"]
    if not store.exists(key):
        metadata = {
            "merchant": job["merchant_id"],
            "campaign": spec.get("campaign_id") or "",
            "product": job["product_id"],
            "template": spec["template"],
            "profile": job["profile"],
            "model": job["model"],
        }
        store.put_file(
            key,
            path,
            content_type,
            metadata,
            download_name=_download_name(job["product_id"], variant, ext),
            expires=job["profile"] == "preview",
            sha256=digest,
        )
    return {
        "merchant_id": job["merchant_id"],
        "product_id": job["product_id"],
        "request_hash": job["request_hash"],
        "variant": variant,
        "kind": "video" if content_type.startswith("video/") else "poster",
        "object_key": key,
        "sha256": digest,
        "size_bytes": path.stat().st_size,
        "content_type": content_type,
        "campaign_id": spec.get("campaign_id"),
        "template": spec["template"],
    }


def _download_name(product_id: str, variant: str, ext: str) -> str:
    """A file name a person recognises: the product and the format, safe for any OS."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in product_id)[:60]
    return f"{safe}-{variant}.{ext}"
