"""The set the product stands in: palette, background, light, bokeh and contact shadow.

Everything here is smooth, so it is drawn at a quarter of the frame's size (``LOW``), in
8 bits, and scaled up once per frame; the product layer is the only thing drawn at full
size.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

LOW = 4  # the background is drawn at 1/LOW of the frame's width and height

# (top, bottom) of the backdrop as (hue shift, saturation, value); ``dark`` says whether
# a light product stands out on it.
SCHEMES = {
    "studio": (((0.0, 0.10, 0.97), (0.0, 0.20, 0.78)), False),
    "complement": (((0.5, 0.30, 0.78), (0.5, 0.50, 0.42)), False),
    "analogous": (((0.07, 0.50, 0.58), (-0.05, 0.65, 0.22)), True),
    "noir": (((0.0, 0.35, 0.26), (0.0, 0.25, 0.05)), True),
}


@dataclass(frozen=True)
class Palette:
    top: np.ndarray  # float32 RGB 0..255
    bottom: np.ndarray
    light: np.ndarray  # the colour of the moving light and the bokeh
    name: str


# How far the backdrop's hue moves from the product's own towards the brand kit's
# primary colour (a grey kit colour has no hue to give and moves nothing).
BRAND_PULL = 0.7


def palette_for(
    rgb: np.ndarray,
    alpha: np.ndarray,
    rng: np.random.Generator,
    brand: tuple[int, int, int] | None = None,
) -> Palette:
    """The seed picks a scheme among those the product stands out on, and a hue nudge.

    The hues come from the product's dominant colour (the scheme's shift of it); with a
    brand kit colour each is pulled towards the kit's hue. The schemes are still picked
    by the product's lightness, so the product keeps its contrast with the set.
    """
    hue, lightness = _dominant(rgb, alpha)
    names = [n for n, (_, dark) in SCHEMES.items() if dark or lightness < 0.72]
    if lightness < 0.22:
        names = [n for n in names if n != "noir"]
    name = names[int(rng.integers(len(names)))]
    (top, bottom), _ = SCHEMES[name]
    hue = (hue + rng.uniform(-0.04, 0.04)) % 1.0
    pull = None
    if brand is not None:
        brand_hue, brand_saturation, _ = colorsys.rgb_to_hsv(*(c / 255 for c in brand))
        pull = brand_hue if brand_saturation > 0.15 else None

    def harmonised(of: float) -> float:
        if pull is None:
            return of % 1.0
        return (of + BRAND_PULL * ((pull - of + 0.5) % 1.0 - 0.5)) % 1.0  # the short way

    def colour(shift_s_v) -> np.ndarray:
        shift, saturation, value = shift_s_v
        return np.array(colorsys.hsv_to_rgb(harmonised(hue + shift), saturation, value), np.float32)

    light = np.array(colorsys.hsv_to_rgb(harmonised(hue), 0.25, 1.0), np.float32)
    return Palette(colour(top) * 255, colour(bottom) * 255, light * 255, name)


def _dominant(rgb: np.ndarray, alpha: np.ndarray) -> tuple[float, float]:
    """Hue of the product's most common saturated colour, and its mean lightness."""
    small = cv2.resize(rgb, (48, 48), interpolation=cv2.INTER_AREA).reshape(-1, 3)
    weight = cv2.resize(alpha, (48, 48), interpolation=cv2.INTER_AREA).reshape(-1) > 128
    pixels = small[weight] if weight.sum() >= 16 else small
    lightness = float(pixels.mean()) / 255
    strip = Image.fromarray(pixels.reshape(1, -1, 3))
    quantised = strip.quantize(colors=4, method=Image.Quantize.MEDIANCUT)
    palette = np.array(quantised.getpalette()[:12], np.float32).reshape(-1, 3) / 255
    counts = np.bincount(np.asarray(quantised).reshape(-1), minlength=4)[: len(palette)]
    best, best_score = 0.0, -1.0
    for (r, g, b), count in zip(palette, counts, strict=False):
        h, s, v = colorsys.rgb_to_hsv(r, g, b)
        score = count * (0.15 + s) * (0.3 + v)
        if score > best_score:
            best, best_score = h, score
    return best, lightness


class Backdrop:
    """The world behind the product, at low resolution and in 8 bits: gradient and floor,
    a soft light that drifts, and out-of-focus bokeh that rises slowly.

    Each layer is drawn once per clip; a frame only moves them (three small warps) and
    adds them up, so the backdrop costs a fraction of the one full-size pass (the
    upscale) that it needs.
    """

    def __init__(self, size: tuple[int, int], palette: Palette, rng: np.random.Generator):
        width, height = size
        self.low = (max(8, width // LOW), max(8, height // LOW))
        lw, lh = self.low
        ys = np.linspace(0.0, 1.0, lh, dtype=np.float32)[:, None, None]
        gradient = palette.top * (1 - ys) + palette.bottom * ys
        # a floor: a softly lit band where the product stands, then darker towards us
        floor = np.exp(-(((ys - 0.51) / 0.05) ** 2)) * 0.10 - np.clip(ys - 0.55, 0, 1) * 0.25
        xs = np.linspace(-1.0, 1.0, lw, dtype=np.float32)[None, :, None]
        vignette = 1 - 0.22 * (xs**2 + ((ys - 0.45) * 1.6) ** 2)
        # RGBA, the alpha unused: OpenCV warps four channels about twice as fast as three
        self.base = _eight_bit(gradient * (1 + floor) * vignette)
        spot = _soft_spot((2 * lw, 2 * lh), radius=0.55 * lw)
        self.light = _eight_bit(spot[..., None] * (palette.light * 0.28))
        self.light_path = rng.uniform(0, 2 * np.pi, size=2)
        # the bokeh tiles the plane, stored with a period's margin: its rise is then a plain
        # shift within the stored copy (BORDER_WRAP warps take four times as long)
        bokeh = _bokeh((lw, lh), palette.light, rng)
        self.bokeh = _eight_bit(np.pad(bokeh, ((0, lh + 1), (0, lw + 1), (0, 0)), mode="wrap"))
        self.drift = rng.uniform(-0.3, 0.3)
        self.shadow = (_soft_spot((64, 16), radius=20.0, squash=3.5) * 255).round().astype(np.uint8)

    def world(self, t: float) -> np.ndarray:
        """The backdrop at time ``t`` (seconds), RGBA uint8 at low resolution."""
        lw, lh = self.low
        phase_x, phase_y = self.light_path
        centre_x = lw * (0.5 + 0.35 * np.sin(0.35 * t + phase_x))
        centre_y = lh * (0.30 + 0.12 * np.sin(0.27 * t + phase_y))
        shift = np.float32([[1, 0, centre_x - lw], [0, 1, centre_y - lh]])
        world = cv2.warpAffine(self.light, shift, self.low)
        cv2.add(world, self.base, dst=world)
        # where in the stored tile the frame's top left corner is (inverse map)
        from_x = (-self.drift * t * lw * 0.05) % lw
        from_y = (t * lh * 0.02) % lh
        rise = np.float32([[1, 0, from_x], [0, 1, from_y]])
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        bokeh = cv2.warpAffine(self.bokeh, rise, self.low, flags=flags)
        return cv2.add(world, bokeh, dst=world)

    def shadow_under(self, low: np.ndarray, centre, width: float, strength: float) -> None:
        """Darken a soft ellipse under the product in ``low`` (frame coordinates / LOW),
        over the ellipse's box only."""
        scale = width / 64
        lw, lh = self.low
        left, top = max(0, int(centre[0] - 32 * scale)), max(0, int(centre[1] - 8 * scale))
        right = min(lw, int(np.ceil(centre[0] + 32 * scale)) + 1)
        bottom = min(lh, int(np.ceil(centre[1] + 8 * scale)) + 1)
        if right <= left or bottom <= top:
            return
        place = np.float32(
            [[scale, 0, centre[0] - 32 * scale - left], [0, scale, centre[1] - 8 * scale - top]]
        )
        spot = cv2.warpAffine(self.shadow, place, (right - left, bottom - top))
        keep = cv2.convertScaleAbs(spot, alpha=-float(strength), beta=255)  # 255 * (1 - s * spot)
        region = low[top:bottom, left:right]
        cv2.multiply(region, cv2.merge([keep, keep, keep, keep]), dst=region, scale=1 / 255)


def _eight_bit(pixels: np.ndarray) -> np.ndarray:
    """(h, w, 3) floats as (h, w, 4) uint8 RGBA."""
    return cv2.cvtColor(np.clip(pixels, 0, 255).round().astype(np.uint8), cv2.COLOR_RGB2RGBA)


def _soft_spot(size: tuple[int, int], radius: float, squash: float = 1.0) -> np.ndarray:
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = ((xs - width / 2) ** 2 + ((ys - height / 2) * squash) ** 2) / radius**2
    return np.exp(-distance * 2.0).astype(np.float32)


def _bokeh(size: tuple[int, int], colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Soft discs on a tile that repeats seamlessly: the bokeh rises through the frame and
    wraps round, so a disc leaving at the top comes back whole at the bottom."""
    width, height = size
    layer = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(7, 13))):
        x, y = int(rng.uniform(0, width)), int(rng.uniform(0, height * 0.7))
        radius = max(1, int(rng.uniform(0.02, 0.07) * width))
        level = float(rng.uniform(0.05, 0.14))
        for dx in (-width, 0, width):  # and its copies over the tile's edges
            for dy in (-height, 0, height):
                cv2.circle(layer, (x + dx, y + dy), radius, level, -1, cv2.LINE_AA)
    sigma = max(0.8, width / 160)
    margin = int(4 * sigma) + 1  # blurred across the edges as the tile repeats
    padded = np.pad(layer, margin, mode="wrap")
    layer = cv2.GaussianBlur(padded, (0, 0), sigmaX=sigma)[margin:-margin, margin:-margin]
    return np.ascontiguousarray(layer[..., None] * colour, dtype=np.float32)
