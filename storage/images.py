"""Shared media helper: an image in sRGB, as every part of adreel stores and draws it.

catalog/ converts images on upload and composer/ converts the images and logos it
draws; storage is the one package both may import, so the conversion lives here once.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms


def to_srgb(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency (an alpha channel, or a palette or
    LA transparency). An embedded ICC profile (RGB, RGBA or CMYK) is converted to sRGB; a
    broken one is ignored, and Pillow's plain conversion used instead."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            return ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode=mode
            )
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: fall back to Pillow's plain conversion
    return image.convert(target)
