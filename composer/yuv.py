"""Frames in the encoder's own format: yuv420p, BT.601 limited range.

Composing in yuv420p rather than RGB halves what every frame costs: 1.5 bytes a pixel to
blend, copy and pipe instead of 3, and ffmpeg has no colour conversion left to do (with
x264 on the same two cores, that conversion was a third of the encoder's time). Alpha
blending is linear, and RGB to YUV is affine, so blending in YUV gives the colours
blending in RGB would. Layers are drawn in RGB with Pillow once, then converted here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from composer.formats import Box

# RGB (0-255) to limited-range BT.601 Y, U, V: rows Y, U, V; the offsets are 16, 128, 128.
MATRIX = np.array(
    [
        [0.256788, 0.504129, 0.097906],
        [-0.148223, -0.290993, 0.439216],
        [0.439216, -0.367788, -0.071427],
    ],
    dtype=np.float32,
)
OFFSET = np.array([16.0, 128.0, 128.0], dtype=np.float32)


@dataclass
class Planes:
    """One frame: Y at full size, U and V at half, views into one contiguous buffer that
    is written to ffmpeg as it is."""

    width: int
    height: int
    buffer: np.ndarray

    @classmethod
    def empty(cls, size: tuple[int, int]) -> Planes:
        width, height = size
        return cls(width, height, np.empty(width * height * 3 // 2, dtype=np.uint8))

    @property
    def y(self) -> np.ndarray:
        return self.buffer[: self.width * self.height].reshape(self.height, self.width)

    @property
    def u(self) -> np.ndarray:
        start = self.width * self.height
        return self.buffer[start : start * 5 // 4].reshape(self.height // 2, self.width // 2)

    @property
    def v(self) -> np.ndarray:
        start = self.width * self.height * 5 // 4
        return self.buffer[start:].reshape(self.height // 2, self.width // 2)

    def copy(self) -> Planes:
        return Planes(self.width, self.height, self.buffer.copy())

    def rgb(self) -> np.ndarray:
        """The frame as a player shows it (for posters and checks)."""
        size = (self.width, self.height)
        y = self.y.astype(np.float32) - 16.0
        u = np.asarray(Image.fromarray(self.u).resize(size, Image.Resampling.BILINEAR))
        v = np.asarray(Image.fromarray(self.v).resize(size, Image.Resampling.BILINEAR))
        u, v = u.astype(np.float32) - 128.0, v.astype(np.float32) - 128.0
        rgb = np.stack(
            (
                1.164384 * y + 1.596027 * v,
                1.164384 * y - 0.391762 * u - 0.812968 * v,
                1.164384 * y + 2.017232 * u,
            ),
            axis=-1,
        )
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _lut_y(dim: float) -> list[int]:
    """Full-range luma (Pillow's YCbCr) to limited range, darkened by ``dim``."""
    return [round(16 + value * (1 - dim) * 219 / 255) for value in range(256)]


def _lut_c(dim: float) -> list[int]:
    return [round(128 + (value - 128) * (1 - dim) * 224 / 255) for value in range(256)]


def ycbcr_planes(image: Image.Image, dim: float = 0.0) -> tuple[Image.Image, ...]:
    """Limited-range Y at the image's size, U and V at half of it. Pillow does the
    matrix in C (its "L" is the luma of its "YCbCr"); chroma is taken from the image
    halved first, which costs a quarter; the range change and the dim are one lookup
    table per plane."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    _, cb, cr = rgb.reduce(2).convert("YCbCr").split()
    lut_c = _lut_c(dim)
    return rgb.convert("L").point(_lut_y(dim)), cb.point(lut_c), cr.point(lut_c)


def from_image(
    image: Image.Image,
    size: tuple[int, int],
    dim: float = 0.0,
    crop: tuple[float, float, float, float] | None = None,
) -> Planes:
    """``crop`` of the image (all of it by default) scaled to ``size``, as planes. The
    conversion runs at the source's size, before scaling, where it costs least."""
    planes = Planes.empty(size)
    scale_into(planes, ycbcr_planes(image, dim), Box(0, 0, *size), crop)
    return planes


def scale_into(
    planes: Planes,
    sources: tuple[Image.Image, ...],
    box: Box,
    crop: tuple[float, float, float, float] | None = None,
) -> None:
    """Scale ``crop`` (in luma pixels; all by default) of the Y, U, V sources from
    ``ycbcr_planes`` into ``box`` of the frame. The box has even corners, so chroma lands
    on whole chroma pixels."""
    width, height = box.size
    crop = crop or (0, 0, *sources[0].size)
    half_crop = tuple(c / 2 for c in crop)
    halves = (width // 2, height // 2)
    targets = (
        (planes.y, box.left, box.top, (width, height), crop),
        (planes.u, box.left // 2, box.top // 2, halves, half_crop),
        (planes.v, box.left // 2, box.top // 2, halves, half_crop),
    )
    for source, (plane, left, top, size, area) in zip(sources, targets, strict=True):
        scaled = source.resize(size, Image.Resampling.BILINEAR, box=area)
        plane[top : top + size[1], left : left + size[0]] = np.asarray(scaled)


def solid(size: tuple[int, int], colour: tuple[int, int, int]) -> Planes:
    planes = Planes.empty(size)
    y, u, v = np.array(colour, dtype=np.float32) @ MATRIX.T + OFFSET
    planes.y[:], planes.u[:], planes.v[:] = round(y), round(u), round(v)
    return planes


def even(box: Box) -> Box:
    """The smallest box with even corners around ``box`` (frame sizes are even)."""
    return Box(box.left // 2 * 2, box.top // 2 * 2, -(-box.right // 2) * 2, -(-box.bottom // 2) * 2)
