"""A template made concrete for one ad: every layer placed, timed and drawn once.

What does not change per frame is computed here: text is fitted and drawn into
premultiplied float arrays cropped to its ink, product images are cropped and scaled to
a source a little larger than their box, the clip is scaled (and dimmed) once per
frame it has, and the end card is drawn whole. ``frames.py`` then only blends arrays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from composer import fonts, text, yuv
from composer.brand import BrandKit
from composer.copy import ProductCopy, features, slot_text
from composer.formats import Box, safe_area
from composer.templates import Layer, Template, end_card
from composer.yuv import Planes

log = logging.getLogger(__name__)

FADE_S = 0.4
ZOOM = 0.12  # Ken Burns: the product image zooms in by this much over its time on screen
CARD = (246, 246, 246)  # behind transparent product images
MUTED = (170, 170, 178)
TEXT = (250, 250, 250)


@dataclass
class Overlay:
    """Premultiplied colour and alpha over a box, shown from ``start`` to ``end``."""

    box: Box
    colour: np.ndarray  # float32 HxWx3, RGB x alpha (0-255)
    alpha: np.ndarray  # float32 HxWx1
    start: float
    end: float
    motion: str | None = None

    def __post_init__(self) -> None:
        # Grown to even corners (with clear pixels) so chroma blends whole chroma pixels.
        box = yuv.even(self.box)
        pad = (
            (self.box.top - box.top, box.bottom - self.box.bottom),
            (self.box.left - box.left, box.right - self.box.right),
            (0, 0),
        )
        self.box = box
        alpha = np.pad(self.alpha, pad)
        premultiplied = np.pad(self.colour, pad) @ yuv.MATRIX.T + alpha * yuv.OFFSET
        height, width = alpha.shape[:2]
        alpha_c, chroma = (
            a.reshape(height // 2, 2, width // 2, 2, -1).mean(axis=(1, 3))
            for a in (alpha, premultiplied[..., 1:])
        )
        # 8.8 fixed point per plane: what of the frame shows through (0-256), and the
        # layer's premultiplied value.
        self.planes = (
            (_fixed(1.0 - alpha[..., 0]), _fixed(premultiplied[..., 0])),
            (_fixed(1.0 - alpha_c[..., 0]), _fixed(chroma[..., 0])),
            (_fixed(1.0 - alpha_c[..., 0]), _fixed(chroma[..., 1])),
        )
        self.scratch = tuple(np.empty_like(keep) for keep, _ in self.planes)


def _fixed(values: np.ndarray) -> np.ndarray:
    return np.round(values * 256).astype(np.uint16)


@dataclass
class Picture:
    """A product image with a slow pan and zoom inside its box (even corners)."""

    box: Box
    sources: tuple[Image.Image, ...]  # Y, U, V at the box's aspect, ZOOM larger
    start: float
    end: float
    cached: Planes | None = None  # the box's Y, U, V at ``cached_step``
    cached_step: int | None = None


@dataclass
class Placed:
    """A layer's final box, for checks such as the safe-area test."""

    kind: str
    slot: str | None
    box: Box


@dataclass
class Scene:
    size: tuple[int, int]
    body_s: float
    duration_s: float
    dim: float
    background: Planes  # the static frame behind the clip, or without one
    pictures: list[Picture] = field(default_factory=list)
    overlays: list[Overlay] = field(default_factory=list)
    end_frame: Planes | None = None
    end_overlays: list[Overlay] = field(default_factory=list)
    watermark: Overlay | None = None
    placed: list[Placed] = field(default_factory=list)


def end_card_seconds(duration_s: float) -> float:
    """The end card's share: a fifth of the ad, at least 1.5 s and at most 4 s."""
    return min(4.0, max(1.5, duration_s * 0.2))


@dataclass(frozen=True)
class Context:
    template: Template
    ad_format: str
    size: tuple[int, int]
    safe: Box
    scale: float
    locale: str
    brand: BrandKit
    faces: tuple

    def colour(self, name: str) -> tuple[int, int, int]:
        named = {
            "primary": self.brand.primary,
            "secondary": self.brand.secondary,
            "text": TEXT,
            "muted": MUTED,
            "on_primary": _on(self.brand.primary),
            "on_secondary": _on(self.brand.secondary),
        }
        if name in named:
            return named[name]
        return tuple(int(name[i : i + 2], 16) for i in (1, 3, 5))


def build_scene(
    template: Template,
    ad_format: str,
    platforms: tuple[str, ...],
    size: tuple[int, int],
    products: tuple[ProductCopy, ...],
    duration_s: float,
    locale: str,
    brand: BrandKit,
    preview: bool,
) -> Scene:
    ctx = Context(
        template,
        ad_format,
        size,
        safe_area(ad_format, platforms, size),
        min(size) / 1080,
        locale,
        brand,
        fonts.chain(locale, brand.font),
    )
    body_s = duration_s - end_card_seconds(duration_s)
    scene = Scene(size, body_s, duration_s, 0.0, _gradient(size, brand.secondary))
    for layer in template.layers:
        _place(scene, ctx, layer, products, 0.0, body_s)
    for layer in end_card():
        _place(scene, ctx, layer, products[:1], body_s, duration_s, end=True)
    scene.end_frame = yuv.solid(size, brand.primary)
    # Static end-card layers are drawn into the end frame once.
    for overlay in [o for o in scene.end_overlays if o.motion is None]:
        blend(scene.end_frame, overlay, 1.0)
        scene.end_overlays.remove(overlay)
    if preview:
        scene.watermark = _watermark(ctx)
    return scene


def _place(scene, ctx, layer: Layer, products, t0: float, t1: float, end: bool = False):
    start, stop = t0 + layer.start * (t1 - t0), t0 + layer.end * (t1 - t0)
    if layer.kind == "clip":
        scene.dim = layer.dim
        return
    if layer.kind == "fill":
        return  # the end card's fill is its base frame
    items = _items(layer, products)
    for index, (product, line) in enumerate(items):
        count = len(items)
        if layer.repeat == "products":
            span = (stop - start) / count
            a, b = start + index * span, start + (index + 1) * span
        elif layer.repeat == "features":
            a, b = start + index * (stop - start) / count, stop
        else:
            a, b = start, stop
        # Clip and fill layers returned above: every placed layer sits in the safe area.
        missing = product is not None and product.image is None
        box = layer.box(ctx.ad_format, ctx.safe, image_missing=missing)
        if layer.repeat == "features":
            row = (box.bottom - box.top) / count
            gap = round(row * 0.12)
            box = Box(box.left, round(box.top + index * row), box.right,
                      round(box.top + (index + 1) * row) - gap)  # fmt: skip
        placed = _draw(ctx, layer, product, line, box, a, b)
        if placed is None:
            continue
        scene.placed.append(Placed(layer.kind, layer.slot, box))
        if isinstance(placed, Picture):
            scene.pictures.append(placed)
        elif end:
            scene.end_overlays.append(placed)
        else:
            scene.overlays.append(placed)


def _items(layer: Layer, products) -> list[tuple[ProductCopy | None, str | None]]:
    if layer.repeat == "products":
        return [(p, None) for p in products]
    if layer.repeat == "features":
        lines = features(products[0].description)
        if not lines:
            log.warning("no short lines in the description for the feature slots")
        return [(products[0], line) for line in lines]
    return [(products[0] if products else None, None)]


def _draw(ctx: Context, layer: Layer, product, line, box: Box, start: float, end: float):
    if layer.kind == "image":
        if product is None or product.image is None:
            return None
        box = yuv.even(box)
        return Picture(box, yuv.ycbcr_planes(_picture_source(product.image, box.size)), start, end)
    if layer.kind == "logo":
        if ctx.brand.logo is None:
            return None
        return _overlay(_contained(ctx.brand.logo, box.size), box, start, end, layer.motion)
    words = line if line is not None else slot_text(
        layer.slot, product, ctx.locale, ctx.brand.name, ctx.brand.cta(ctx.locale)
    )  # fmt: skip
    if not words:
        return None
    return _text_overlay(ctx, layer, words, box, start, end)


def _text_overlay(ctx: Context, layer: Layer, words: str, box: Box, start, end) -> Overlay:
    size = round(layer.size * ctx.scale)
    style = text.TextStyle(
        max_size=size,
        min_size=max(10, round(22 * ctx.scale)),
        color=ctx.colour(layer.color),
        bold=layer.bold,
        align=layer.align,
        strike=layer.strike,
    )
    inner = box
    image = Image.new("RGBA", box.size, (0, 0, 0, 0))
    if layer.panel:
        pad = round(min(box.size) * 0.12)
        ImageDraw.Draw(image).rounded_rectangle(
            (0, 0, box.size[0] - 1, box.size[1] - 1),
            radius=round(min(box.size) * 0.25),
            fill=ctx.colour(layer.panel),
        )
        inner = Box(box.left + pad, box.top + pad // 2, box.right - pad, box.bottom - pad // 2)
    drawn = text.render(words, inner.size, style, ctx.faces)
    # A dark shadow keeps light text legible over any clip.
    if not layer.panel and sum(style.color) > 384:
        image.alpha_composite(_shadow(drawn), (inner.left - box.left, inner.top - box.top))
    image.alpha_composite(drawn, (inner.left - box.left, inner.top - box.top))
    return _overlay(image, box, start, end, layer.motion)


def _overlay(image: Image.Image, box: Box, start, end, motion) -> Overlay | None:
    """Crop to the ink (so blending touches only what shows) and premultiply."""
    ink = image.getbbox()
    if ink is None:
        return None
    if motion == "wipe":  # a wipe reveals across the whole box width
        ink = (0, ink[1], image.width, ink[3])
    cropped = np.asarray(image.crop(ink), dtype=np.float32) / 255.0
    alpha = cropped[..., 3:4]
    placed = Box(box.left + ink[0], box.top + ink[1], box.left + ink[2], box.top + ink[3])
    return Overlay(placed, cropped[..., :3] * alpha * 255.0, alpha, start, end, motion)


def blend(frame: Planes, overlay: Overlay, strength: float, columns: int | None = None):
    """Source-over blend of an overlay into the frame's planes, in place, in 8.8 fixed
    point; ``columns`` (even) limits it to the overlay's left part, for wipes. The sums
    go through the overlay's own scratch arrays: fresh temporaries every frame cost more
    in page faults than the arithmetic."""
    box = overlay.box
    width = box.right - box.left if columns is None else columns
    if width <= 0:
        return
    weight = round(strength * 256)
    for plane, (keep, colour), scratch, scale in zip(
        (frame.y, frame.u, frame.v), overlay.planes, overlay.scratch, (1, 2, 2), strict=True
    ):
        top, left, cols = box.top // scale, box.left // scale, width // scale
        region = plane[top : top + keep.shape[0], left : left + cols]
        keep, colour, scratch = keep[:, :cols], colour[:, :cols], scratch[:, :cols]
        if weight < 256:  # fading in: in 32 bits, the products overflow 16
            keep = 256 - ((256 - keep.astype(np.uint32)) * weight >> 8)
            colour = colour.astype(np.uint32) * weight >> 8
            region[:] = (region * keep + colour) >> 8
            continue
        np.multiply(region, keep, out=scratch)
        np.add(scratch, colour, out=scratch)
        np.right_shift(scratch, 8, out=scratch)
        np.copyto(region, scratch, casting="unsafe")


def _shadow(drawn: Image.Image) -> Image.Image:
    from PIL import ImageFilter

    alpha = drawn.getchannel("A").filter(ImageFilter.GaussianBlur(max(2, drawn.height // 60)))
    shadow = Image.new("RGBA", drawn.size, (0, 0, 0, 0))
    shadow.putalpha(alpha.point(lambda v: v * 0.7))
    return shadow


def _picture_source(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Transparent products on a light card; cropped to the box's aspect, ZOOM larger."""
    image = on_card(image)
    width, height = round(size[0] * (1 + ZOOM)), round(size[1] * (1 + ZOOM))
    return cover(image, (width, height))


def on_card(image: Image.Image) -> Image.Image:
    """RGB; a transparent product sits on a light card, as shoppers see it in a shop."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    card = Image.new("RGB", image.size, CARD)
    card.paste(image, mask=image.getchannel("A"))
    return card


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill ``size`` and crop the overflow, keeping the centre."""
    target_w, target_h = size
    ratio = max(target_w / image.width, target_h / image.height)
    scaled = (max(target_w, round(image.width * ratio)), max(target_h, round(image.height * ratio)))
    resized = image.resize(scaled, Image.Resampling.BICUBIC)
    left, top = (resized.width - target_w) // 2, (resized.height - target_h) // 2
    return resized.crop((left, top, left + target_w, top + target_h))


def _contained(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fit inside ``size``, centred on a transparent canvas."""
    logo = image.convert("RGBA")
    logo.thumbnail(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    canvas.alpha_composite(logo, ((size[0] - logo.width) // 2, (size[1] - logo.height) // 2))
    return canvas


def _watermark(ctx: Context) -> Overlay:
    """PREVIEW across the middle of the frame, half transparent."""
    width, height = ctx.size
    band = Box(0, height // 2 - height // 14, width, height // 2 + height // 14)
    style = text.TextStyle(round(200 * ctx.scale), 12, (255, 255, 255), bold=True)
    drawn = text.render("PREVIEW", band.size, style, ctx.faces)
    drawn.putalpha(drawn.getchannel("A").point(lambda v: v * 0.45))
    return _overlay(drawn, band, 0.0, float("inf"), None)


def _gradient(size: tuple[int, int], colour: tuple[int, int, int]) -> Planes:
    """A vertical gradient from the brand colour to black: the frame without a clip."""
    ramp = np.linspace(1.0, 0.35, size[1], dtype=np.float32)[:, None, None]
    column = (np.array(colour, dtype=np.float32) * ramp).astype(np.uint8)
    return yuv.from_image(Image.fromarray(column), size)


def _on(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on the colour (WCAG relative luminance)."""
    r, g, b = (c / 255 for c in colour)
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return (17, 17, 20) if luminance > 0.45 else (250, 250, 250)
