"""Token metering: what a render costs, in the one place the formula lives."""

from __future__ import annotations

import math

PIXELS_PER_TOKEN = 1024


def tokens_for(width: int, height: int, frames: int) -> int:
    """ceil(width x height x frames / 1024): the pixel-token formula video APIs bill by."""
    return math.ceil(width * height * frames / PIXELS_PER_TOKEN)
