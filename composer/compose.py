"""``compose_ad``: one request in, a platform-ready MP4, a poster and a thumbnail out."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from babel import Locale, UnknownLocaleError
from PIL import Image

from composer import encode
from composer.brand import BrandKit
from composer.clip import ClipBackground
from composer.copy import ProductCopy
from composer.defaults import DEFAULT_LOCALE, DEFAULT_PLATFORMS
from composer.formats import (
    FPS,
    PLATFORMS,
    output_size,
    platforms_for,
)
from composer.frames import render_frame
from composer.qa import QaReport, check_ad, sample_times
from composer.scene import Scene, build_scene
from composer.templates import template
from composer.yuv import Planes

log = logging.getLogger(__name__)

THUMBNAIL_LONG_SIDE = 320
MAX_DURATION_S = 60


@dataclass(frozen=True)
class AdRequest:
    """Everything that decides one ad."""

    template: str
    ad_format: str
    products: tuple[ProductCopy, ...]
    duration_s: float = 6.0
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    locale: str = DEFAULT_LOCALE
    brand: BrandKit = field(default_factory=BrandKit)
    preview: bool = False
    long_side: int | None = None  # None: the format's full size (1080x1920 for 9x16)
    clip_frames: np.ndarray | None = field(default=None, compare=False, repr=False)
    clip_fps: float = 24.0
    soundtrack: Path | None = None
    qa_skip: tuple[str, ...] = ()  # visual checks recorded as skipped (composer.qa.CHECKS)


@dataclass(frozen=True)
class ComposedAd:
    video_path: Path
    poster_path: Path
    width: int
    height: int
    duration_s: float
    thumbnail_path: Path | None = None
    qa: QaReport | None = None  # the visual check


def check_request(request: AdRequest) -> None:
    """Refuse what cannot be made, in one line naming the value and what is allowed."""
    chosen = template(request.template)
    platforms_for(request.ad_format, request.platforms)
    count = len(request.products)
    if not chosen.min_products <= count <= chosen.max_products:
        wanted = (
            str(chosen.min_products)
            if chosen.min_products == chosen.max_products
            else f"{chosen.min_products} to {chosen.max_products}"
        )
        raise ValueError(f"template {chosen.name!r} takes {wanted} products, not {count}")
    if chosen.needs_sale_price:
        for product in request.products:
            if not product.on_sale:
                raise ValueError(
                    f"template {chosen.name!r} needs a sale price below the price "
                    f"({product.title[:40]!r} has {product.sale_price or 'none'})"
                )
    if not 0 < request.duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration {request.duration_s}s; choose 6, 15 or 30")
    try:
        Locale.parse(request.locale)
    except (ValueError, UnknownLocaleError):
        raise ValueError(f"unknown locale {request.locale!r}; use one such as en_US") from None
    if request.soundtrack is not None and not Path(request.soundtrack).is_file():
        raise ValueError(f"soundtrack {request.soundtrack}: no such file")


def plan_scene(request: AdRequest) -> Scene:
    """The request's layers placed, timed and drawn (no video yet)."""
    check_request(request)
    return build_scene(
        template(request.template),
        request.ad_format,
        request.platforms,
        output_size(request.ad_format, request.long_side),
        request.products,
        request.duration_s,
        request.locale,
        request.brand,
        request.preview,
    )


def compose_ad(request: AdRequest, out_dir: Path, name: str = "ad") -> ComposedAd:
    """Render the ad to ``out_dir/{name}.mp4``, ``{name}.jpg`` and ``{name}-thumb.jpg``."""
    scene = plan_scene(request)
    for product in request.products:
        if product.image is None:
            log.warning("%r has no usable image: %s uses its fallback layout",
                        product.title[:60], request.template)  # fmt: skip
    clip = ClipBackground(
        request.clip_frames,
        request.clip_fps,
        scene.size,
        scene.dim,
        scene.background,
        scene.clip_box,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    video_path = out_dir / f"{name}.mp4"
    poster_path, thumbnail_path = out_dir / f"{name}.jpg", out_dir / f"{name}-thumb.jpg"
    poster_index = round(scene.body_s * 0.85 * FPS)
    # Frames the visual check looks at, copied as they are made.
    to_sample = {round(t * FPS): t for t in sample_times(scene)}
    samples = {}
    with ThreadPoolExecutor(max_workers=1) as saver:
        saved = []

        def render(index: int, out: Planes) -> None:
            render_frame(scene, clip, index / FPS, out)
            if index in to_sample:
                samples[to_sample[index]] = out.copy()
            if index == poster_index:  # saved while the encoder works
                saved.append(saver.submit(_save_poster, out.copy(), poster_path, thumbnail_path))

        try:
            encode.write_video(
                render,
                round(request.duration_s * FPS),
                video_path,
                scene.size,
                FPS,
                request.duration_s,
                request.soundtrack,
            )
        finally:
            clip.close()
        for future in saved:
            future.result()
    report = check_ad(scene, samples, request.clip_frames, request.qa_skip)
    if report.reasons:
        log.warning("%s %s fails its visual check: %s",
                    request.template, request.ad_format, "; ".join(report.reasons))  # fmt: skip
    width, height = scene.size
    return ComposedAd(
        video_path, poster_path, width, height, request.duration_s, thumbnail_path, report
    )


def _save_poster(frame: Planes, poster_path: Path, thumbnail_path: Path) -> None:
    poster = Image.fromarray(frame.rgb())
    poster.save(poster_path, "JPEG", quality=88)
    poster.thumbnail((THUMBNAIL_LONG_SIDE, THUMBNAIL_LONG_SIDE), Image.Resampling.LANCZOS)
    poster.save(thumbnail_path, "JPEG", quality=82)


__all__ = ["PLATFORMS", "AdRequest", "ComposedAd", "check_request", "compose_ad", "plan_scene"]
