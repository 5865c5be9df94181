"""A template made concrete for one ad: every layer placed, timed and drawn once.

What does not change per frame is computed here: text is fitted and drawn, on a panel
tight around it, into premultiplied float arrays cropped to its ink; product images are
fitted (never cropped) onto a card a little larger than their box; the clip's place is
decided (``clip.py`` scales each of its frames once); the end card is drawn whole.
``frames.py`` then only blends arrays. What the visual check needs (text boxes, glyph
masks, where each product shows) is kept on the scene.
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
SHADE = (0, 0, 0)  # the panel behind text over the clip, drawn translucent


@dataclass
class Overlay:
    """Premultiplied colour and alpha over a box, shown from ``start`` to ``end``."""

    box: Box
    colour: np.ndarray  # float32 HxWx3, RGB x alpha (0-255)
    alpha: np.ndarray  # float32 HxWx1
    start: float
    end: float
    motion: str | None = None
    slot: str | None = None  # text: the slot it shows
    glyph: np.ndarray | None = None  # text: bool HxW, the strokes' cores, over ``box``
    backing: np.ndarray | None = None  # text on a panel: bool HxW, the panel

    def __post_init__(self) -> None:
        # Grown to even corners (with clear pixels) so chroma blends whole chroma pixels.
        box = yuv.even(self.box)
        pad = (
            (self.box.top - box.top, box.bottom - self.box.bottom),
            (self.box.left - box.left, box.right - self.box.right),
            (0, 0),
        )
        self.box = box
        if self.glyph is not None:
            self.glyph = np.pad(self.glyph, pad[:2])
        if self.backing is not None:
            self.backing = np.pad(self.backing, pad[:2])
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


@dataclass(frozen=True)
class Shown:
    """Where a product shows (the visual check's crop test): ``content`` is the whole
    product image (or clip) in frame pixels at its largest, ``visible`` what of the
    frame shows it."""

    what: str  # "clip" or "image"
    content: Box
    visible: Box
    start: float
    end: float


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
    clip_box: Box | None = None  # where the clip is fitted (frame pixels); None: whole frame
    shown: list[Shown] = field(default_factory=list)
    safe: Box | None = None


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
            "shade": SHADE,
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
    scene.safe = ctx.safe
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
        scene.clip_box = yuv.even(Box(0, 0, *ctx.size).sub(layer.boxes[ctx.ad_format]))
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
        if layer.kind == "image":
            content = _product_on_screen(product.image.size, yuv.even(box), layer.motion)
            scene.shown.append(Shown("image", content, box, a, b))
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
        if layer.motion != "ken_burns":  # a still card (the end card's)
            return _overlay(_contained(product.image, box.size), box, start, end, layer.motion)
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
        pad_x, pad_y = (
            round(min(box.size[1] * 0.3, size * 0.4)),
            round(min(box.size[1] * 0.12, size * 0.2)),
        )
        inner = Box(box.left + pad_x, box.top + pad_y, box.right - pad_x, box.bottom - pad_y)
    drawn = text.render(words, inner.size, style, ctx.faces)
    offset = (inner.left - box.left, inner.top - box.top)
    ink = drawn.getbbox()
    if layer.panel and ink is not None:
        # Tight around the words, so that the clip shows everywhere else.
        left, top, right, bottom = ink
        ImageDraw.Draw(image).rounded_rectangle(
            (left + offset[0] - pad_x, top + offset[1] - pad_y,
             right + offset[0] + pad_x - 1, bottom + offset[1] + pad_y - 1),
            radius=round(min(pad_x, (bottom - top) / 2 + pad_y) * 0.8),
            fill=(*ctx.colour(layer.panel), round(255 * layer.panel_opacity)),
        )  # fmt: skip
    backing = np.asarray(image.getchannel("A")) > 128 if layer.panel and ink else None
    # A dark shadow keeps light text legible over any clip.
    if not layer.panel and sum(style.color) > 384:
        image.alpha_composite(_shadow(drawn), offset)
    image.alpha_composite(drawn, offset)
    glyph = np.zeros((box.size[1], box.size[0]), dtype=bool)
    strokes = np.asarray(drawn.getchannel("A")) > 200
    glyph[offset[1] : offset[1] + strokes.shape[0], offset[0] : offset[0] + strokes.shape[1]] = (
        strokes
    )
    return _overlay(image, box, start, end, layer.motion, layer.slot, glyph, backing)


def _overlay(
    image: Image.Image, box: Box, start, end, motion, slot=None, glyph=None, backing=None
) -> Overlay | None:
    """Crop to the ink (so blending touches only what shows) and premultiply."""
    ink = image.getbbox()
    if ink is None:
        return None
    if motion == "wipe":  # a wipe reveals across the whole box width
        ink = (0, ink[1], image.width, ink[3])
    cropped = np.asarray(image.crop(ink), dtype=np.float32) / 255.0
    alpha = cropped[..., 3:4]
    placed = Box(box.left + ink[0], box.top + ink[1], box.left + ink[2], box.top + ink[3])
    if glyph is not None:
        glyph = glyph[ink[1] : ink[3], ink[0] : ink[2]]
    if backing is not None:
        backing = backing[ink[1] : ink[3], ink[0] : ink[2]]
    colour = cropped[..., :3] * alpha * 255.0
    return Overlay(placed, colour, alpha, start, end, motion, slot, glyph, backing)


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
    """The product fitted whole on a light card ZOOM larger than the box, inside the
    part of the card that the pan and zoom never leave, so it is never cropped."""
    width, height = round(size[0] * (1 + ZOOM)), round(size[1] * (1 + ZOOM))
    card = Image.new("RGB", (width, height), CARD)
    place = fitted_box(image.size, _pan_area(width, height))
    product = image.convert("RGBA").resize(place.size, Image.Resampling.BICUBIC)
    card.paste(product, (place.left, place.top), product)
    return card


def _pan_area(width: int, height: int) -> Box:
    """The part of a panned card (source pixels) on screen at the largest zoom, where the
    pan has drifted 0.7 of the zoom's margin sideways, less a small border."""
    step_x, step_y = width * ZOOM / (1 + ZOOM), height * ZOOM / (1 + ZOOM)
    border_x, border_y = 0.7 * step_x + width * 0.02, 0.5 * step_y + height * 0.02
    return Box(round(border_x), round(border_y), round(width - border_x), round(height - border_y))


def _product_on_screen(image_size: tuple[int, int], box: Box, motion: str | None) -> Box:
    """Where a product image ends up on screen: fitted in its box when still; at the
    largest zoom (as big as it gets) when panned."""
    if motion != "ken_burns":
        return fitted_box(image_size, box)
    width, height = round(box.size[0] * (1 + ZOOM)), round(box.size[1] * (1 + ZOOM))
    place = fitted_box(image_size, _pan_area(width, height))
    shift_x, shift_y = 0.7 * width * ZOOM / (1 + ZOOM), 0.5 * height * ZOOM / (1 + ZOOM)
    return Box(
        box.left + round(place.left - shift_x), box.top + round(place.top - shift_y),
        box.left + round(place.right - shift_x), box.top + round(place.bottom - shift_y),
    )  # fmt: skip


def fitted_box(image_size: tuple[int, int], area: Box) -> Box:
    """The largest box of the image's shape inside ``area``, centred."""
    width, height = area.size
    ratio = min(width / image_size[0], height / image_size[1])
    fit_w, fit_h = max(1, round(image_size[0] * ratio)), max(1, round(image_size[1] * ratio))
    left, top = area.left + (width - fit_w) // 2, area.top + (height - fit_h) // 2
    return Box(left, top, left + fit_w, top + fit_h)


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


def watermark_box(safe: Box, scale: float) -> Box:
    """The PREVIEW mark's corner band: the safe area's top-left corner, where templates
    put no text."""
    return Box(safe.left, safe.top, safe.left + round(250 * scale), safe.top + round(66 * scale))


def _watermark(ctx: Context) -> Overlay:
    """PREVIEW in the top-left corner of the safe area: white on a dark translucent pill,
    legible on light and dark frames alike."""
    band = watermark_box(ctx.safe, ctx.scale)
    image = Image.new("RGBA", band.size, (0, 0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle(
        (0, 0, band.size[0] - 1, band.size[1] - 1), radius=band.size[1] // 2, fill=(0, 0, 0, 170)
    )
    pad_x, pad_y = round(band.size[1] * 0.45), round(band.size[1] * 0.18)
    inner = (band.size[0] - 2 * pad_x, band.size[1] - 2 * pad_y)
    style = text.TextStyle(round(40 * ctx.scale), 10, (255, 255, 255), bold=True)
    drawn = text.render("PREVIEW", inner, style, ctx.faces)
    image.alpha_composite(drawn, (pad_x, pad_y))
    return _overlay(image, band, 0.0, float("inf"), None)


def _gradient(size: tuple[int, int], colour: tuple[int, int, int]) -> Planes:
    """A vertical gradient from the brand colour to black: the frame without a clip."""
    ramp = np.linspace(1.0, 0.35, size[1], dtype=np.float32)[:, None, None]
    column = (np.array(colour, dtype=np.float32) * ramp).astype(np.uint8)
    return yuv.from_image(Image.fromarray(column), size)


def _on(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Near black or white, whichever contrasts more with the colour (WCAG)."""
    dark, light = (17, 17, 20), (250, 250, 250)
    on_dark = contrast_ratio(relative_luminance(colour), relative_luminance(dark))
    on_light = contrast_ratio(relative_luminance(colour), relative_luminance(light))
    return dark if on_dark >= on_light else light


def relative_luminance(colour) -> float:
    """WCAG 2 relative luminance of an sRGB colour (0-255 per channel)."""
    channels = np.asarray(colour, dtype=np.float64) / 255.0
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(first: float, second: float) -> float:
    return (max(first, second) + 0.05) / (min(first, second) + 0.05)
