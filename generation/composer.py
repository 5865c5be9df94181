"""The composer: a generated clip plus product image, title, price and call to action,
laid out for 9:16 and encoded with moviepy as H.264 High, yuv420p, +faststart.

The layout is drawn at 1080x1920 design units and scaled, and keeps text inside
TikTok's in-feed safe area (top 150, bottom 440, right 150 px of 1080x1920). Static
layers are drawn once; only the clip and the product card's slow zoom change per frame.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from moviepy import VideoClip
from PIL import Image, ImageDraw, ImageFont

DESIGN_WIDTH = 1080
BACKGROUND = (17, 17, 20)
ACCENT = (255, 196, 0)
TEXT = (250, 250, 250)
FPS = 24

# What the composer can make today; campaigns are validated against these.
TEMPLATES = ("showcase",)
FORMATS = ("9x16",)
# The layout keeps text inside TikTok's in-feed safe area, the strictest 9:16 preset.
PLATFORMS = ("tiktok",)


@dataclass(frozen=True)
class AdCopy:
    title: str
    price_text: str
    brand: str
    call_to_action: str = "Shop now"


@dataclass(frozen=True)
class ComposedAd:
    video_path: Path
    poster_path: Path
    width: int
    height: int
    duration_s: float


@dataclass(frozen=True)
class _Box:
    left: int
    top: int
    right: int
    bottom: int

    def scaled(self, scale: float) -> _Box:
        return _Box(*(round(v * scale) for v in (self.left, self.top, self.right, self.bottom)))

    @property
    def size(self) -> tuple[int, int]:
        return self.right - self.left, self.bottom - self.top


# 9:16 layout in design units (1080x1920).
CLIP_BOX = _Box(0, 0, 1080, 1000)
CARD_BOX = _Box(60, 1030, 360, 1330)
TITLE_BOX = _Box(400, 1030, 930, 1210)
PRICE_BOX = _Box(400, 1220, 930, 1330)
CTA_BOX = _Box(60, 1360, 930, 1470)
TEXT_BOXES = (TITLE_BOX, PRICE_BOX, CTA_BOX)


def compose_ad(
    clip_frames: np.ndarray,
    product_image: Image.Image,
    copy: AdCopy,
    video_path: Path,
    poster_path: Path,
    size: tuple[int, int] = (720, 1280),
    duration_s: float = 3.0,
    clip_fps: int = 8,
) -> ComposedAd:
    width, height = size
    scale = width / DESIGN_WIDTH
    base = _draw_static_layers(copy, size, scale)
    clip_box, card_box = CLIP_BOX.scaled(scale), CARD_BOX.scaled(scale)
    clip = [_cover(Image.fromarray(frame), clip_box.size) for frame in clip_frames]
    product = product_image.convert("RGB")

    def frame_at(t: float) -> np.ndarray:
        frame = base.copy()
        frame.paste(clip[_ping_pong(int(t * clip_fps), len(clip))], (clip_box.left, clip_box.top))
        zoom = 1.0 + 0.12 * (t / duration_s)  # slow push-in on the product
        frame.paste(_zoomed(product, card_box.size, zoom), (card_box.left, card_box.top))
        return np.asarray(frame)

    video_path.parent.mkdir(parents=True, exist_ok=True)
    VideoClip(frame_function=frame_at, duration=duration_s).write_videofile(
        str(video_path),
        fps=FPS,
        codec="libx264",
        audio=False,
        preset="veryfast",
        pixel_format="yuv420p",
        ffmpeg_params=["-profile:v", "high", "-movflags", "+faststart"],
        logger=None,
    )
    Image.fromarray(frame_at(duration_s / 2)).save(poster_path, "JPEG", quality=88)
    return ComposedAd(video_path, poster_path, width, height, duration_s)


def _draw_static_layers(copy: AdCopy, size: tuple[int, int], scale: float) -> Image.Image:
    image = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    title_box, price_box, cta_box = (box.scaled(scale) for box in TEXT_BOXES)
    _draw_fitted(draw, copy.title, title_box, max_size=round(56 * scale), fill=TEXT)
    _draw_fitted(draw, copy.price_text, price_box, max_size=round(80 * scale), fill=ACCENT)
    draw.rounded_rectangle(
        (cta_box.left, cta_box.top, cta_box.right, cta_box.bottom),
        radius=round(28 * scale),
        fill=ACCENT,
    )
    cta = f"{copy.call_to_action}  ·  {copy.brand}" if copy.brand else copy.call_to_action
    _draw_fitted(draw, cta, cta_box, max_size=round(48 * scale), fill=BACKGROUND, center=True)
    return image


def _draw_fitted(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: _Box,
    max_size: int,
    fill: tuple[int, int, int],
    center: bool = False,
) -> None:
    """Wrap at word boundaries and shrink until the text fits its box; never overflow."""
    box_width, box_height = box.size
    for size in range(max_size, 7, -2):
        font = ImageFont.load_default(size=size)
        lines = _wrap(text, font, box_width)
        line_height = round(size * 1.2)
        if lines and len(lines) * line_height <= box_height:
            break
    else:
        lines = _wrap(text, font, box_width)[: max(1, box_height // line_height)]
        lines[-1] = _ellipsize(lines[-1], font, box_width)
    top = box.top + (box_height - len(lines) * line_height) // 2 if center else box.top
    for index, line in enumerate(lines):
        left = box.left
        if center:
            left += (box_width - round(font.getlength(line))) // 2
        draw.text((left, top + index * line_height), line, font=font, fill=fill)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    average = max(1.0, font.getlength("abcdefghij") / 10)
    lines = textwrap.wrap(text, width=max(1, int(width / average)), break_long_words=False)
    # Character estimates can run long: re-wrap any line that is still too wide.
    while any(font.getlength(line) > width for line in lines):
        narrower = max(1, max(len(line) for line in lines) - 1)
        rewrapped = textwrap.wrap(text, width=narrower, break_long_words=False)
        if rewrapped == lines:
            return []  # a single word wider than the box: the caller shrinks the font
        lines = rewrapped
    return lines


def _ellipsize(line: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    words = line.split()
    while words and font.getlength(" ".join(words) + " …") > width:
        words.pop()
    return " ".join(words) + " …"


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill ``size`` and crop the overflow, keeping the centre."""
    target_w, target_h = size
    ratio = max(target_w / image.width, target_h / image.height)
    resized = image.resize((round(image.width * ratio), round(image.height * ratio)), Image.BICUBIC)
    left, top = (resized.width - target_w) // 2, (resized.height - target_h) // 2
    return resized.crop((left, top, left + target_w, top + target_h))


def _zoomed(image: Image.Image, size: tuple[int, int], zoom: float) -> Image.Image:
    crop_w, crop_h = image.width / zoom, image.height / zoom
    left, top = (image.width - crop_w) / 2, (image.height - crop_h) / 2
    return image.resize(size, Image.BILINEAR, box=(left, top, left + crop_w, top + crop_h))


def _ping_pong(index: int, count: int) -> int:
    if count <= 1:
        return 0
    period = 2 * (count - 1)
    position = index % period
    return position if position < count else period - position
