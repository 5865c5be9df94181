"""``adreel render``: one ad from the catalog, straight from the command line, to look at a
template, format or brand kit before a campaign uses it."""

from __future__ import annotations

from pathlib import Path

import click

from composer import DURATIONS_S, FORMATS, PLATFORM_PRESETS, TEMPLATES
from composer.defaults import DEFAULT_FORMAT, DEFAULT_LOCALE, DEFAULT_TEMPLATE
from flows.cli.output import emit_json, status
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
@click.option(
    "--clip",
    "clip_file",
    type=click.Path(path_type=Path),
    help="The clip to show (default: the product in motion, drawn by builtin:motion).",
)
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
    from campaigns.sample import SampleAd, render_sample  # the composer: only when rendering

    sample = SampleAd(
        merchant_id=merchant,
        product_ids=product_ids,
        template=template,
        ad_format=ad_format,
        duration_s=float(duration),
        locale=locale,
        platforms=platforms,
        brand_file=brand_file,
        clip_file=clip_file,
        soundtrack=soundtrack,
        preview=preview,
    )
    ad = render_sample(services(), sample, out_dir, tell=status)
    if as_json:
        emit_json(
            {
                "video": str(ad.video_path),
                "poster": str(ad.poster_path),
                "thumbnail": str(ad.thumbnail_path),
                "width": ad.width,
                "height": ad.height,
                "duration_s": ad.duration_s,
            }
        )
    else:
        click.echo(ad.video_path)


def register(cli: click.Group) -> None:
    cli.add_command(render_command)
