"""One ad straight from the catalog (``adreel render``): to look at a template, format or
brand kit on real products before a campaign uses it. Nothing is stored or billed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from catalog.products import list_products
from composer import (
    AdRequest,
    BrandKit,
    BrandKitError,
    ComposedAd,
    ProductCopy,
    check_request,
    compose_ad,
    load_brand_kit,
    load_image,
)
from composer.defaults import DEFAULT_FORMAT, DEFAULT_PLATFORMS
from composer.kits import BrandKits
from storage.errors import AdreelError
from storage.objects import StorageError
from storage.services import Services

CLIP_FPS = 24


@dataclass(frozen=True)
class SampleAd:
    """What to render; ``brand_file`` None: the merchant's stored kit."""

    merchant_id: str
    product_ids: tuple[str, ...]
    template: str
    ad_format: str
    duration_s: float
    locale: str
    platforms: tuple[str, ...] = ()
    brand_file: Path | None = None
    clip_file: Path | None = None
    soundtrack: Path | None = None
    preview: bool = False

    @property
    def name(self) -> str:
        return f"{self.product_ids[0]}-{self.template}-{self.ad_format}".replace("/", "_")


def render_sample(services: Services, sample: SampleAd, out_dir: Path, tell=None) -> ComposedAd:
    """Compose ``sample`` into ``out_dir/<name>.mp4`` (with poster and thumbnail); the
    request is checked before anything is written. ``tell`` hears, for the person
    waiting, when rendering starts and which products are shown without their image."""
    products = _products(services, sample, tell)
    brand = _brand(services, sample, products)
    request = AdRequest(
        template=sample.template,
        ad_format=sample.ad_format,
        products=products,
        duration_s=sample.duration_s,
        # The feed preset takes every format; the default platforms take the default format.
        platforms=sample.platforms
        or (DEFAULT_PLATFORMS if sample.ad_format == DEFAULT_FORMAT else ("feed",)),
        locale=sample.locale,
        brand=brand,
        preview=sample.preview,
        long_side=1280 if sample.preview else None,
        clip_frames=_clip(sample.clip_file) if sample.clip_file else None,
        clip_fps=CLIP_FPS,
        soundtrack=sample.soundtrack,
    )
    try:
        check_request(request)
    except ValueError as exc:
        raise AdreelError(str(exc)) from None
    if tell:
        tell(f"rendering {sample.name}")
    if not sample.clip_file:  # no clip given: the product in motion, as campaigns show it
        kit_colour = None if brand.primary == BrandKit().primary else brand.primary
        clip, fps = _motion_clip(sample, products[0], kit_colour)
        if clip is not None:
            request = replace(request, clip_frames=clip, clip_fps=fps)
    return compose_ad(request, out_dir, sample.name)


def _products(services: Services, sample: SampleAd, warn) -> tuple[ProductCopy, ...]:
    wanted = list(sample.product_ids)
    with services.db.connection() as conn:
        rows = {row["product_id"]: row for row in list_products(conn, sample.merchant_id, wanted)}
    missing = [pid for pid in wanted if pid not in rows]
    if missing:
        raise AdreelError(f"merchant {sample.merchant_id!r} has no product {missing[0]!r}")
    return tuple(_copy(rows[pid], services, warn) for pid in wanted)


def _copy(row: dict, services: Services, warn) -> ProductCopy:
    image = None
    if row.get("image_key"):
        try:
            image = load_image(
                services.store.read(row["image_key"]), f"image of {row['product_id']}"
            )
        except StorageError as exc:
            if warn:
                warn(f"image of {row['product_id']} unreadable ({exc}): layout without it")
    return ProductCopy.from_product(row, image)


def _brand(services: Services, sample: SampleAd, products: tuple[ProductCopy, ...]):
    """The kit file given, else the merchant's stored kit, as campaign renders use it."""
    try:
        if sample.brand_file:
            return load_brand_kit(sample.brand_file)
        kits = BrandKits(services.settings, services.db, services.store)
        return kits.for_merchant(sample.merchant_id, products[0].brand)
    except BrandKitError as exc:
        raise AdreelError(str(exc)) from None
    except StorageError as exc:
        raise AdreelError(f"brand kit of {sample.merchant_id}: {exc}") from None


def _motion_clip(sample: SampleAd, product: ProductCopy, colour) -> tuple:
    """The product in motion, drawn by the CPU tier at its preview or final profile, as
    a campaign's ad would show it (None for a product without an image or a template
    without a clip: the layout is shown still)."""
    from composer.formats import output_size
    from composer.scene import end_card_seconds
    from composer.templates import clip_aspect
    from generation.clips import RenderRequest
    from generation.motion import MOTION_MODEL_NAME
    from generation.motion.clip import render_clip
    from generation.profiles import render_profile

    profile = render_profile(MOTION_MODEL_NAME, "preview" if sample.preview else "final")
    frame = output_size(sample.ad_format, 1280 if sample.preview else None)
    aspect = clip_aspect(sample.template, sample.ad_format, frame)
    if product.image is None or aspect is None:
        return None, CLIP_FPS
    pixels = profile.width * profile.height
    width = 2 * round((pixels * aspect) ** 0.5 / 2)
    body_s = sample.duration_s - end_card_seconds(sample.duration_s)
    request = RenderRequest(
        request_hash=sample.name,
        image=product.image,
        prompt="",
        negative_prompt="",
        seed=0,
        width=width,
        height=2 * round(pixels / width / 2),
        num_frames=profile.num_frames,
        steps=0,
        guidance=0.0,
        fps=profile.clip_fps,
        template=sample.template,
        scene_frames=min(profile.num_frames, round(body_s * profile.clip_fps)),
        brand_colour=colour,
    )
    frames, _ = render_clip(request)
    return frames, profile.clip_fps


def _clip(path: Path):
    import numpy as np
    from moviepy import VideoFileClip

    try:
        with VideoFileClip(str(path), audio=False) as video:
            return np.stack(list(video.iter_frames(fps=CLIP_FPS, dtype="uint8")))
    except (OSError, KeyError) as exc:
        raise AdreelError(f"{path}: cannot read the clip: {exc}") from None
