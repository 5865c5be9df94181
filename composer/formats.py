"""Formats (aspect ratio and full size), durations, and platform presets with the zones
each platform covers with its interface, where no text or price may go."""

from __future__ import annotations

import math
from dataclasses import dataclass

FPS = 30
DURATIONS_S = (6, 15, 30)
# Full (final) size of each format; previews scale it down, keeping the ratio.
FORMATS = {"9x16": (1080, 1920), "1x1": (1080, 1080), "16x9": (1920, 1080)}


@dataclass(frozen=True)
class Margins:
    """Pixels a platform covers on each side, at the format's full size."""

    top: int
    bottom: int
    left: int
    right: int


# Zones covered by each platform's interface, per format it takes (full-size pixels).
# TikTok in-feed: caption and buttons; Reels: header, caption and buttons; Shorts: title,
# channel and buttons; feed (Instagram/Facebook feed, YouTube in-stream): a 5% title-safe
# margin, as broadcast practice keeps.
PLATFORMS: dict[str, dict[str, Margins]] = {
    "tiktok": {"9x16": Margins(top=150, bottom=440, left=40, right=150)},
    "instagram_reels": {"9x16": Margins(top=220, bottom=420, left=40, right=140)},
    "youtube_shorts": {"9x16": Margins(top=120, bottom=400, left=40, right=150)},
    "feed": {
        "1x1": Margins(top=54, bottom=54, left=54, right=54),
        "16x9": Margins(top=54, bottom=54, left=96, right=96),
        "9x16": Margins(top=96, bottom=96, left=54, right=54),
    },
}


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    right: int
    bottom: int

    @property
    def size(self) -> tuple[int, int]:
        return self.right - self.left, self.bottom - self.top

    def inside(self, other: Box) -> bool:
        return (
            other.left <= self.left
            and other.top <= self.top
            and self.right <= other.right
            and self.bottom <= other.bottom
        )

    def sub(self, fractions: tuple[float, float, float, float]) -> Box:
        """The part of this box given by fractions of its width and height."""
        width, height = self.size
        x0, y0, x1, y1 = fractions
        return Box(
            self.left + round(x0 * width),
            self.top + round(y0 * height),
            self.left + round(x1 * width),
            self.top + round(y1 * height),
        )


def check_format(ad_format: str) -> None:
    if ad_format not in FORMATS:
        raise ValueError(f"unknown format {ad_format!r}; known: {', '.join(FORMATS)}")


def platforms_for(ad_format: str, platforms: tuple[str, ...]) -> tuple[str, ...]:
    """The platforms of a campaign that take this format; refuse when none does."""
    check_format(ad_format)
    for name in platforms:
        if name not in PLATFORMS:
            raise ValueError(f"unknown platform preset {name!r}; known: {', '.join(PLATFORMS)}")
    taking = tuple(name for name in platforms if ad_format in PLATFORMS[name])
    if not taking:
        suits = ", ".join(name for name in PLATFORMS if ad_format in PLATFORMS[name])
        raise ValueError(
            f"format {ad_format} is posted on none of {', '.join(platforms)}; it suits: {suits}"
        )
    return taking


def safe_area(ad_format: str, platforms: tuple[str, ...], size: tuple[int, int]) -> Box:
    """The frame less every zone covered by any of the platforms, scaled to ``size``."""
    full_width, _ = FORMATS[ad_format]
    scale = size[0] / full_width
    margins = [PLATFORMS[name][ad_format] for name in platforms_for(ad_format, platforms)]
    # Round inward so that the scaled safe area never grows into a covered zone.
    return Box(
        math.ceil(max(m.left for m in margins) * scale),
        math.ceil(max(m.top for m in margins) * scale),
        size[0] - math.ceil(max(m.right for m in margins) * scale),
        size[1] - math.ceil(max(m.bottom for m in margins) * scale),
    )


def output_size(ad_format: str, long_side: int | None = None) -> tuple[int, int]:
    """The format's size with its long side at ``long_side`` (even on both sides)."""
    check_format(ad_format)
    width, height = FORMATS[ad_format]
    if long_side is None:
        return width, height
    scale = long_side / max(width, height)
    return round(width * scale / 2) * 2, round(height * scale / 2) * 2
