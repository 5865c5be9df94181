"""The set the product stands in: palette, background, light, bokeh and contact shadow.

Everything here is smooth, so it is drawn at a quarter of the frame's size (``LOW``) and
scaled up once per frame; the product layer is the only thing drawn at full size.
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


def palette_for(rgb: np.ndarray, alpha: np.ndarray, rng: np.random.Generator) -> Palette:
    """The seed picks a scheme among those the product stands out on, and a hue nudge."""
    hue, lightness = _dominant(rgb, alpha)
    names = [n for n, (_, dark) in SCHEMES.items() if dark or lightness < 0.72]
    if lightness < 0.22:
        names = [n for n in names if n != "noir"]
    name = names[int(rng.integers(len(names)))]
    (top, bottom), _ = SCHEMES[name]
    hue = (hue + rng.uniform(-0.04, 0.04)) % 1.0

    def colour(shift_s_v) -> np.ndarray:
        shift, saturation, value = shift_s_v
        return np.array(colorsys.hsv_to_rgb((hue + shift) % 1.0, saturation, value), np.float32)

    light = np.array(colorsys.hsv_to_rgb(hue, 0.25, 1.0), np.float32)
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
    """The world behind the product, at low resolution: gradient and floor, a soft light
    that drifts, and out-of-focus bokeh that rises slowly."""

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
        self.base = np.ascontiguousarray(gradient * (1 + floor) * vignette, dtype=np.float32)
        self.light_tint = (palette.light * 0.28).reshape(3, 1)
        self.light = _soft_spot((2 * lw, 2 * lh), radius=0.55 * lw)
        self.light_path = rng.uniform(0, 2 * np.pi, size=2)
        self.bokeh = _bokeh((lw, lh), palette.light, rng)
        self.drift = rng.uniform(-0.3, 0.3)
        self.shadow = _soft_spot((64, 16), radius=20.0, squash=3.5)

    def world(self, t: float) -> np.ndarray:
        """The backdrop at time ``t`` (seconds), float32 at low resolution."""
        lw, lh = self.low
        phase_x, phase_y = self.light_path
        centre_x = lw * (0.5 + 0.35 * np.sin(0.35 * t + phase_x))
        centre_y = lh * (0.30 + 0.12 * np.sin(0.27 * t + phase_y))
        shift = np.float32([[1, 0, centre_x - lw], [0, 1, centre_y - lh]])
        light = cv2.warpAffine(self.light, shift, self.low)
        rise = np.float32([[1, 0, self.drift * t * lw * 0.05], [0, 1, -t * lh * 0.02]])
        bokeh = cv2.warpAffine(self.bokeh, rise, self.low, borderMode=cv2.BORDER_WRAP)
        # one channel to three by cv2.transform: numpy's broadcast over a last axis of 3
        # runs three-element loops and takes longer than the rest of the backdrop
        world = cv2.transform(light[..., None], self.light_tint)
        np.add(self.base, world, out=world)
        return np.add(world, bokeh, out=world)

    def shadowed(self, low: np.ndarray, centre, width: float, strength: float) -> np.ndarray:
        """Darken a soft ellipse under the product (frame coordinates / LOW)."""
        scale = width / 64
        place = np.float32([[scale, 0, centre[0] - 32 * scale], [0, scale, centre[1] - 8 * scale]])
        spot = cv2.warpAffine(self.shadow, place, self.low)
        keep = 1 - strength * spot  # float64 when strength is a NumPy float, as it is
        # as three channels: numpy's broadcast over a last axis of 3 is slow
        return low * cv2.merge([keep, keep, keep])


def _soft_spot(size: tuple[int, int], radius: float, squash: float = 1.0) -> np.ndarray:
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    distance = ((xs - width / 2) ** 2 + ((ys - height / 2) * squash) ** 2) / radius**2
    return np.exp(-distance * 2.0).astype(np.float32)


def _bokeh(size: tuple[int, int], colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    width, height = size
    layer = np.zeros((height, width), np.float32)
    for _ in range(int(rng.integers(7, 13))):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height * 0.7)))
        radius = max(1, int(rng.uniform(0.02, 0.07) * width))
        cv2.circle(layer, centre, radius, float(rng.uniform(0.05, 0.14)), -1, cv2.LINE_AA)
    layer = cv2.GaussianBlur(layer, (0, 0), sigmaX=max(0.8, width / 160))
    return np.ascontiguousarray(layer[..., None] * colour, dtype=np.float32)
