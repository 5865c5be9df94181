"""What an ad is made as when nobody says otherwise, in one place: campaign files, render
jobs (and rows stored before a field existed), the CLI and the composer all take these."""

from __future__ import annotations

DEFAULT_TEMPLATE = "showcase"
DEFAULT_FORMAT = "9x16"
DEFAULT_LOCALE = "en_US"
DEFAULT_PLATFORMS: tuple[str, ...] = ("tiktok",)
