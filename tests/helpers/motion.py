"""Product photos drawn in code for the motion tier's tests and benchmark."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def product_photo(size: int = 1200, background=(250, 250, 250), alpha: bool = False) -> Image.Image:
    """A shaded red sneaker-like product on a studio backdrop (or transparent), as a
    merchant's packshot looks after JPEG: a soft shadow, a little noise."""
    mode = "RGBA" if alpha else "RGB"
    image = Image.new(mode, (size, size), (*background, 0) if alpha else background)
    draw = ImageDraw.Draw(image)
    s = size / 100
    draw.rounded_rectangle((14 * s, 44 * s, 86 * s, 70 * s), radius=10 * s, fill=(200, 40, 45, 255))
    draw.ellipse((48 * s, 28 * s, 84 * s, 58 * s), fill=(60, 70, 160, 255))
    draw.rectangle((14 * s, 68 * s, 86 * s, 76 * s), fill=(35, 35, 35, 255))
    for i in range(5):  # laces
        x = 30 * s + i * 7 * s
        draw.line((x, 46 * s, x + 5 * s, 52 * s), fill=(245, 245, 245, 255), width=max(1, int(s)))
    if alpha:
        return image
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    noise = np.random.default_rng(0).normal(0, 1.5, (size, size, 3))
    pixels = np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def as_jpeg(image: Image.Image) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=88)
    return Image.open(io.BytesIO(buffer.getvalue()))


def busy_photo(size: int = 600) -> Image.Image:
    """A lifestyle photo: no backdrop to cut away."""
    rng = np.random.default_rng(3)
    small = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((size, size), Image.Resampling.BICUBIC)
