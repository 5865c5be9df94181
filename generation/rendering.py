"""Render a batch of planned jobs end to end: clip, composition, upload, asset rows.

This is the one piece of code behind both paths: called in-process when no broker
is configured, and by the Celery task on a worker. It takes job ids, re-reads their
state, and skips what is already done, so running it twice is harmless.

Each ad is composed with its merchant's stored brand kit as it is when the batch starts
(no kit: the product's brand on the default colours). A product without a usable image
(none in the catalog, its object gone, bytes that do not decode) still renders: a plain
card in the brand's secondary colour conditions the clip, the template uses its layout
without an image, and the job records why.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from composer import (
    AdRequest,
    BrandKit,
    ComposedAd,
    ProductCopy,
    compose_ad,
    load_image,
)
from composer.kits import BrandKits
from composer.scene import end_card_seconds, on_card
from composer.templates import clip_aspect
from generation.assets import record_asset
from generation.clips import RenderedClip, RenderRequest
from generation.jobs import RenderJob, get_render_jobs, mark_render_jobs, record_usage
from generation.motion import MOTION_MODEL_NAME
from generation.tiers import load_renderer
from storage.db import Database
from storage.objects import ObjectStore, StorageError, asset_key, sha256_file
from storage.settings import Settings

log = logging.getLogger(__name__)
DEFAULT_KIT = BrandKit()  # a merchant without a kit: the motion tier's set is the product's


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
        rows = get_render_jobs(conn, request_hashes)
    pending = [row for row in rows if row["status"] != "done"]
    skipped = [row["request_hash"] for row in rows if row["status"] == "done"]
    if not pending:
        return BatchResult([], skipped)
    jobs = [RenderJob.from_row(row) for row in pending]
    kits = BrandKits(settings, db, store)
    rendered = []
    for model in dict.fromkeys(job.model for job in jobs):  # a batch may mix tiers
        of_model = [
            (job, row) for job, row in zip(jobs, pending, strict=True) if job.model == model
        ]
        rendered += _render_model_batch(model, of_model, kits, settings, db, store, on_job_done)
    return BatchResult(rendered, skipped)


def _render_model_batch(
    model: str,
    jobs_and_rows: list[tuple[RenderJob, dict]],
    kits: BrandKits,
    settings: Settings,
    db: Database,
    store: ObjectStore,
    on_job_done: Callable[[int], None] | None,
) -> list[str]:
    jobs = [job for job, _ in jobs_and_rows]
    renderer = _load_or_fail(model, jobs, settings, db)
    requests, readable, inputs = [], [], {}
    for job, row in jobs_and_rows:
        try:
            # Read once: the same image conditions the clip and goes into the ad.
            inputs[job.request_hash] = _job_inputs(row, kits, store)
        except StorageError as exc:
            # The store did not answer for this job's files: it fails alone (a retry
            # reads again), not its batch.
            _fail(db, [job], str(exc))
            if on_job_done:
                on_job_done(1)
            continue
        requests.append(_to_request(job, inputs[job.request_hash]))
        readable.append(job)
    done: list[str] = []
    try:
        clips = renderer.render(requests, max_batch=settings.render_batch_size)
        for job, clip in zip(readable, clips, strict=True):
            try:
                _compose_and_store(job, clip, inputs[job.request_hash], settings, db, store)
            except ValueError as exc:
                # The composer refused this ad (e.g. a sale template for a product
                # without a sale price): it fails alone, its batch goes on.
                _fail(db, [job], f"{type(exc).__name__}: {exc}")
            else:
                done.append(job.request_hash)
            if on_job_done:
                on_job_done(1)
    except Exception as exc:
        _fail(
            db,
            [job for job in readable if job.request_hash not in done],
            f"{type(exc).__name__}: {exc}",
        )
        raise
    return done


def _load_or_fail(model: str, jobs: list[RenderJob], settings: Settings, db: Database):
    try:
        return load_renderer(model, settings.home, settings.device)
    except Exception as exc:
        _fail(db, jobs, f"{type(exc).__name__}: {exc}")
        raise


def _fail(db: Database, jobs: list[RenderJob], error: str) -> None:
    with db.connection() as conn:
        mark_render_jobs(conn, [job.request_hash for job in jobs], "failed", error)


@dataclass(frozen=True)
class JobInputs:
    """What a job is composed from besides its clip."""

    brand: BrandKit
    product: ProductCopy  # its image None: the template's layout without an image
    # why the ad has no product image (None: it has one)
    no_image_reason: str | None = None
    extra_images: tuple[Image.Image, ...] = ()  # the motion tier's further scenes


def _job_inputs(row: dict, kits: BrandKits, store: ObjectStore) -> JobInputs:
    """``row``: a job's row with its product's current data (``get_render_jobs``)."""
    brand = kits.for_merchant(row["merchant_id"], row["brand"])
    image, reason = _product_image(row, store)
    if reason is not None:
        log.warning(
            "product %s of %s renders without its image: %s",
            row["product_id"],
            row["merchant_id"],
            reason,
        )
    extra = ()
    if image is not None and row["model"] == MOTION_MODEL_NAME:
        extra = _extra_images(row, store)
    return JobInputs(brand, ProductCopy.from_product(row, image), reason, extra)


def _extra_images(row: dict, store: ObjectStore) -> tuple[Image.Image, ...]:
    """The job's additional product images, read and decoded as the main one; one that
    is missing or unreadable is left out (the clip has a scene fewer), logged."""
    images = []
    for key in row["spec"].get("extra_image_keys", ()):
        found, reason = _product_image({**row, "image_key": key}, store)
        if found is None:
            log.warning("product %s: additional image left out: %s", row["product_id"], reason)
        else:
            images.append(found)
    return tuple(images)


def _to_request(job: RenderJob, inputs: JobInputs) -> RenderRequest:
    profile = job.profile
    size = (profile.width, profile.height)
    body_s = job.duration_s - end_card_seconds(job.duration_s)  # what the ad shows of it
    if job.model == MOTION_MODEL_NAME:  # drawn at any size: the shape of the ad's clip box
        size = motion_clip_size(job)
    if inputs.product.image is not None and job.model == MOTION_MODEL_NAME:
        conditioning = inputs.product.image  # the motion tier cuts the product out itself
    elif inputs.product.image is not None:
        conditioning = on_card(inputs.product.image).resize(size)
    else:
        conditioning = plain_card(size, inputs.brand.secondary)
    return RenderRequest(
        request_hash=job.request_hash,
        image=conditioning,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        seed=job.seed,
        width=size[0],
        height=size[1],
        num_frames=profile.num_frames,
        steps=profile.steps,
        guidance=profile.guidance,
        max_sequence_length=profile.max_sequence_length,
        upscale=profile.upscale.model if profile.upscale else None,
        fps=profile.clip_fps,
        template=job.template,
        extra_images=inputs.extra_images,
        scene_frames=min(profile.num_frames, round(body_s * profile.clip_fps)),
        brand_colour=None if inputs.brand.primary == DEFAULT_KIT.primary else inputs.brand.primary,
    )


def motion_clip_size(job: RenderJob) -> tuple[int, int]:
    """The motion tier's clip: the profile's pixels in the shape of the box the template
    shows the clip in (a square clip for a square ad), so it fills it, never letterboxed."""
    profile = job.profile
    aspect = clip_aspect(job.template, job.ad_format, (job.output_width, job.output_height))
    if aspect is None:
        return profile.width, profile.height
    pixels = profile.width * profile.height
    width = 2 * round((pixels * aspect) ** 0.5 / 2)
    return width, 2 * round(pixels / width / 2)


def _product_image(row: dict, store: ObjectStore) -> tuple[Image.Image | None, str | None]:
    """The product's image, or None and why the ad goes without it. A store that does not
    answer raises StorageError: that is a fault to retry, not a missing image."""
    key = row["image_key"]
    if key is None:
        if row.get("image_status") == "failed":
            return None, f"its image could not be fetched ({row['image_error']})"
        if row.get("image_status") == "pending":
            return None, "its image is not fetched yet (adreel catalog fetch-images)"
        return None, "the catalog has no image for it"
    try:
        data = store.read(key)
    except StorageError:
        if store.exists(key):  # there but unreadable now; exists() raises if unreachable
            raise
        return None, f"its image {key} is missing from the object store"
    # The composer's reader: bounded size, sRGB, transparency kept (it sits on a card).
    image = load_image(data, f"image of {row['product_id']}")
    if image is None:
        return None, f"its image {key} cannot be decoded"
    return image, None


def plain_card(size: tuple[int, int], colour: tuple[int, int, int]) -> Image.Image:
    """What conditions the clip of a product without an image: the colour, lighter
    towards the top, so the model has light and depth to animate and no product to
    invent."""
    width, height = size
    base = np.array(colour, dtype=np.float32)
    top = base * 0.6 + 255 * 0.4
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    rows = top * (1 - ramp) + base * ramp
    return Image.fromarray(np.broadcast_to(rows, (height, width, 3)).round().astype(np.uint8))


def _compose_and_store(
    job: RenderJob,
    clip: RenderedClip,
    inputs: JobInputs,
    settings: Settings,
    db: Database,
    store: ObjectStore,
) -> None:
    """Compose the ad from its clip and product data, then store it."""
    request = AdRequest(
        template=job.template,
        ad_format=job.ad_format,
        products=(inputs.product,),
        duration_s=job.duration_s,
        platforms=job.platforms,
        locale=job.locale,
        brand=inputs.brand,
        preview=job.profile.name == "preview",
        long_side=max(job.output_width, job.output_height),
        clip_frames=clip.frames,
        clip_fps=job.profile.clip_fps,
        qa_skip=tuple(name.strip() for name in settings.qa_skip.split(",") if name.strip()),
    )
    warnings = list(clip.notes)
    if inputs.no_image_reason is not None:
        warnings.insert(0, f"rendered without product image: {inputs.no_image_reason}")
    warning = "; ".join(warnings) or None
    with tempfile.TemporaryDirectory(prefix="adreel-compose-") as scratch:
        ad = compose_ad(request, Path(scratch))
        save_outputs(job, ad, settings.s3_prefix, db, store, warning)


# Each output's content type and the suffix its object key and file name carry.
OUTPUT_KINDS = {
    "video": ("video/mp4", ""),
    "poster": ("image/jpeg", ""),
    "thumbnail": ("image/jpeg", "-thumb"),
}


def save_outputs(
    job: RenderJob,
    ad: ComposedAd,
    prefix: str,
    db: Database,
    store: ObjectStore,
    warning: str | None = None,
) -> None:
    """Objects first, then the asset rows and the job's status in one transaction: a row
    never points at a missing object, and a failed upload leaves no row."""
    variant = job.variant
    outputs = [
        ("video", ad.video_path, (ad.width, ad.height)),
        ("poster", ad.poster_path, (ad.width, ad.height)),
    ]
    if ad.thumbnail_path is not None:
        with Image.open(ad.thumbnail_path) as thumbnail:
            outputs.append(("thumbnail", ad.thumbnail_path, thumbnail.size))
    # The visual check's verdict goes on every row of the ad: a failed ad is kept, with
    # its reasons, and campaigns do not deliver it.
    qa = {}
    if ad.qa is not None:
        qa = {"qa_status": ad.qa.status, "qa_reasons": list(ad.qa.reasons)}
    rows = [
        {**_store_output(store, prefix, job, variant, path, kind), "width": w, "height": h, **qa}
        for kind, path, (w, h) in outputs
    ]
    with db.connection() as conn, conn.transaction():
        for row in rows:
            record_asset(conn, row)
        record_usage(conn, usage_row(job))
        mark_render_jobs(conn, [job.request_hash], "done", warning=warning)


def usage_row(job: RenderJob) -> dict:
    """What the model generated for this job, metered in tokens (failed renders: none)."""
    return {
        "request_hash": job.request_hash,
        "merchant_id": job.merchant_id,
        "campaign_id": job.campaign_id,
        "model": job.model,
        "profile": job.profile.name,
        "width": job.profile.width,
        "height": job.profile.height,
        "frames": job.profile.num_frames,
        "tokens": job.tokens,
    }


def _store_output(
    store: ObjectStore, prefix: str, job: RenderJob, variant: str, path: Path, kind: str
) -> dict:
    """Upload one output under its content address (once) and describe its asset row."""
    content_type, suffix = OUTPUT_KINDS[kind]
    digest = sha256_file(path)
    ext = path.suffix.lstrip(".")
    key = asset_key(prefix, job.merchant_id, digest, variant + suffix, ext)
    if not store.exists(key):
        metadata = {
            "merchant": job.merchant_id,
            "campaign": job.campaign_id or "",
            "product": job.product_id,
            "template": job.template,
            "profile": job.profile.name,
            "model": job.model,
        }
        store.put_file(
            key,
            path,
            content_type,
            metadata,
            download_name=_download_name(job.product_id, variant + suffix, ext),
            expires=job.profile.name == "preview",
            sha256=digest,
        )
    return {
        "merchant_id": job.merchant_id,
        "product_id": job.product_id,
        "request_hash": job.request_hash,
        "variant": variant,
        "kind": kind,
        "object_key": key,
        "sha256": digest,
        "size_bytes": path.stat().st_size,
        "content_type": content_type,
        "campaign_id": job.campaign_id,
        "template": job.template,
    }


def _download_name(product_id: str, variant: str, ext: str) -> str:
    """A file name a person recognises: the product and the format, safe for any OS."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in product_id)[:60]
    return f"{safe}-{variant}.{ext}"
