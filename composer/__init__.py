"""The composer: generated clips and product data in, finished platform-ready ads out.

Templates are data (``templates.yaml``): layers, timing, motion and text slots, every
one ending on the brand's end card. Formats 9:16, 1:1 and 16:9 at 30 fps; platform
presets keep text out of the zones each platform covers. Static layers are drawn once
(``scene``), per-frame work is numpy (``frames``), ffmpeg encodes (``encode``).
"""

from importlib import import_module

# Where each public name lives. Loaded on first use (PEP 562), so a command that only
# needs the tables of templates and formats does not import numpy, Pillow and ffmpeg.
_HOMES = {
    "BrandKit": "composer.brand",
    "BrandKitError": "composer.brand",
    "load_brand_kit": "composer.brand",
    "AdRequest": "composer.compose",
    "ComposedAd": "composer.compose",
    "check_request": "composer.compose",
    "compose_ad": "composer.compose",
    "plan_scene": "composer.compose",
    "ProductCopy": "composer.copy",
    "format_price": "composer.copy",
    "DURATIONS_S": "composer.formats",
    "FPS": "composer.formats",
    "PLATFORMS": "composer.formats",
    "platforms_for": "composer.formats",
    "load_image": "composer.images",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    # What the composer makes; campaigns are validated against these.
    if name == "TEMPLATES":
        return tuple(import_module("composer.templates").templates())
    if name in ("FORMATS", "FORMAT_SIZES"):
        sizes = import_module("composer.formats").FORMATS
        return tuple(sizes) if name == "FORMATS" else sizes
    if name == "PLATFORM_PRESETS":
        return tuple(import_module("composer.formats").PLATFORMS)
    raise AttributeError(f"module 'composer' has no attribute {name!r}")


__all__ = [*_HOMES, "FORMATS", "FORMAT_SIZES", "PLATFORM_PRESETS", "TEMPLATES"]
