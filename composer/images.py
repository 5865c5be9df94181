"""Product images and logos as the composer takes them: decoded at a bounded size, in
sRGB, transparency kept; an image that cannot be read is logged and left out, so the
template falls back to its layout without an image."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from storage.images import to_srgb

log = logging.getLogger(__name__)

# No layer is larger than a 1920 px frame; decode no more than that (and well under
# Pillow's decompression-bomb limit), so a 50-megapixel photo costs a few megabytes.
MAX_SIDE = 2048


def load_image(source: Path | bytes | None, what: str = "product image") -> Image.Image | None:
    """RGB or RGBA, its long side at most MAX_SIDE; None (and a log line why) if unusable."""
    if source is None:
        log.warning("%s missing: using the layout without an image", what)
        return None
    try:
        handle = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        # JPEG decodes straight at 1/2, 1/4 or 1/8 scale: a huge photo never sits in memory.
        handle.draft("RGB", (MAX_SIDE, MAX_SIDE))
        handle.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        return _normalised(ImageOps.exif_transpose(handle))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        log.warning("%s unreadable (%s): using the layout without an image", what, exc)
        return None


def _normalised(image: Image.Image) -> Image.Image:
    """sRGB (``storage.images.to_srgb``), less an alpha channel that hides nothing."""
    image = to_srgb(image)
    if image.mode == "RGBA" and image.getextrema()[3][0] == 255:
        image = image.convert("RGB")
    return image
