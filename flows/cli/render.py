"""``adreel render``: one ad from the catalog, straight from the command line, to look at a
template, format or brand kit before a campaign uses it."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from catalog.products import list_products
from composer import (
    DURATIONS_S,
    FORMATS,
    PLATFORM_PRESETS,
    TEMPLATES,
    AdRequest,
    BrandKit,
    BrandKitError,
    ProductCopy,
    check_request,
    compose_ad,
    load_brand_kit,
    load_image,
)
from composer.defaults import DEFAULT_FORMAT, DEFAULT_LOCALE, DEFAULT_PLATFORMS, DEFAULT_TEMPLATE
from flows.cli.output import emit_json, status
from generation.rendering import BrandKits
from storage.errors import AdreelError
from storage.objects import StorageError
from storage.services import services


@click.command("render")
@click.option("--merchant", required=True, help="Merchant id.")
@click.option(
    "--product", "product_ids", required=True, multiple=True,
    help="Product id; repeat for the carousel (3 to 5).",
)  # fmt: skip
@click.option("--template", default=DEFAULT_TEMPLATE, show_default=True, help=", ".join(TEMPLATES))
@click.option(
    "--format", "ad_format", default=DEFAULT_FORMAT, show_default=True, help=", ".join(FORMATS)
)
@click.option(
    "--platform", "platforms", multiple=True, help=f"{', '.join(PLATFORM_PRESETS)} (repeatable)."
)
@click.option(
    "--duration", default=6, show_default=True, type=click.Choice([str(d) for d in DURATIONS_S])
)
@click.option(
    "--locale", default=DEFAULT_LOCALE, show_default=True, help="Prices and call to action."
)
@click.option(
    "--brand",
    "brand_file",
    type=click.Path(path_type=Path),
    help="Brand kit YAML (default: the merchant's stored kit, see `adreel brand set`).",
)
@click.option("--clip", "clip_file", type=click.Path(path_type=Path), help="Background clip.")
@click.option("--soundtrack", type=click.Path(path_type=Path), help="Music, looped and faded.")
@click.option("--preview", is_flag=True, help="Preview size with a PREVIEW watermark.")
@click.option("--out", "out_dir", default=".", show_default=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def render_command(
    merchant: str,
    product_ids: tuple[str, ...],
    template: str,
    ad_format: str,
    platforms: tuple[str, ...],
    duration: str,
    locale: str,
    brand_file: Path | None,
    clip_file: Path | None,
    soundtrack: Path | None,
    preview: bool,
    out_dir: Path,
    as_json: bool,
) -> None:
    """Render one ad of catalog products to OUT/<product>-<template>-<format>.mp4."""
    products = _products(merchant, list(product_ids))
    try:
        brand = load_brand_kit(brand_file) if brand_file else _stored_kit(merchant, products)
    except BrandKitError as exc:
        raise AdreelError(str(exc)) from None
    except StorageError as exc:
        raise AdreelError(f"brand kit of {merchant}: {exc}") from None
    request = AdRequest(
        template=template,
        ad_format=ad_format,
        products=products,
        duration_s=float(duration),
        # The feed preset takes every format; the default platforms take the default format.
        platforms=platforms or (DEFAULT_PLATFORMS if ad_format == DEFAULT_FORMAT else ("feed",)),
        locale=locale,
        brand=brand,
        preview=preview,
        long_side=1280 if preview else None,
        clip_frames=_clip(clip_file) if clip_file else None,
        clip_fps=24,
        soundtrack=soundtrack,
    )
    name = f"{product_ids[0]}-{template}-{ad_format}".replace("/", "_")
    try:
        check_request(request)  # before anything is written
    except ValueError as exc:
        raise AdreelError(str(exc)) from None
    status(f"rendering {name}")
    ad = compose_ad(request, out_dir, name)
    result = {
        "video": str(ad.video_path),
        "poster": str(ad.poster_path),
        "thumbnail": str(ad.thumbnail_path),
        "width": ad.width,
        "height": ad.height,
        "duration_s": ad.duration_s,
    }
    if as_json:
        emit_json(result)
    else:
        click.echo(ad.video_path)


def _products(merchant: str, product_ids: list[str]) -> tuple[ProductCopy, ...]:
    svc = services()
    with svc.db.connection() as conn:
        rows = {row["product_id"]: row for row in list_products(conn, merchant, product_ids)}
    missing = [pid for pid in product_ids if pid not in rows]
    if missing:
        raise AdreelError(f"merchant {merchant!r} has no product {missing[0]!r}")
    return tuple(_copy(rows[pid], svc.store) for pid in product_ids)


def _stored_kit(merchant: str, products: tuple[ProductCopy, ...]) -> BrandKit:
    """The merchant's kit from `adreel brand set`, as campaign renders use it."""
    svc = services()
    kits = BrandKits(svc.settings, svc.db, svc.store)
    return kits.for_merchant(merchant, products[0].brand)


def _copy(row: dict, store) -> ProductCopy:
    image = None
    if row.get("image_key"):
        try:
            image = load_image(store.read(row["image_key"]), f"image of {row['product_id']}")
        except StorageError as exc:
            status(f"image of {row['product_id']} unreadable ({exc}): layout without it")
    return ProductCopy.from_product(row, image)


def _clip(path: Path) -> np.ndarray:
    from moviepy import VideoFileClip

    try:
        with VideoFileClip(str(path), audio=False) as video:
            return np.stack(list(video.iter_frames(fps=24, dtype="uint8")))
    except (OSError, KeyError) as exc:
        raise AdreelError(f"{path}: cannot read the clip: {exc}") from None


def register(cli: click.Group) -> None:
    cli.add_command(render_command)
