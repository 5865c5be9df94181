"""Token metering: what a render costs, in the one place the formula lives."""

from __future__ import annotations

import math

PIXELS_PER_TOKEN = 1024
# builtin:motion draws the product photo on a CPU in well under a second: a flat price per
# clip, about 1% of a diffusion preview (384x672x49 meters 12,348 tokens), whatever its size.
MOTION_TOKENS_PER_CLIP = 120


def tokens_for(width: int, height: int, frames: int) -> int:
    """ceil(width x height x frames / 1024): the pixel-token formula video APIs bill by."""
    return math.ceil(width * height * frames / PIXELS_PER_TOKEN)


def tokens_for_render(model: str, width: int, height: int, frames: int) -> int:
    """What a clip of ``model`` meters: flat for the motion tier, by pixels otherwise."""
    if model == "builtin:motion":
        return MOTION_TOKENS_PER_CLIP
    return tokens_for(width, height, frames)
