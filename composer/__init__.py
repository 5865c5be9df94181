"""The composer: generated clips and product data in, finished platform-ready ads out.

Templates are data (``templates.yaml``): layers, timing, motion and text slots, every
one ending on the brand's end card. Formats 9:16, 1:1 and 16:9 at 30 fps; platform
presets keep text out of the zones each platform covers. Static layers are drawn once
(``scene``), per-frame work is numpy (``frames``), ffmpeg encodes (``encode``).
"""

from composer.brand import BrandKit, BrandKitError, load_brand_kit
from composer.compose import AdRequest, ComposedAd, check_request, compose_ad, plan_scene
from composer.copy import ProductCopy, format_price
from composer.formats import DURATIONS_S, FPS, PLATFORMS, platforms_for
from composer.formats import FORMATS as FORMAT_SIZES
from composer.images import load_image
from composer.templates import templates

# What the composer makes; campaigns are validated against these.
TEMPLATES = tuple(templates())
FORMATS = tuple(FORMAT_SIZES)
PLATFORM_PRESETS = tuple(PLATFORMS)

__all__ = [
    "DURATIONS_S",
    "FORMATS",
    "FORMAT_SIZES",
    "FPS",
    "PLATFORMS",
    "PLATFORM_PRESETS",
    "TEMPLATES",
    "AdRequest",
    "BrandKit",
    "BrandKitError",
    "ComposedAd",
    "ProductCopy",
    "check_request",
    "compose_ad",
    "format_price",
    "load_brand_kit",
    "load_image",
    "plan_scene",
    "platforms_for",
]
