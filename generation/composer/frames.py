"""Per-frame work, all numpy on yuv420p planes: copy the background (a cached, scaled
clip frame), paste the product images at their pan and zoom, blend the text overlays in
their boxes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from generation.composer import yuv
from generation.composer.formats import Box
from generation.composer.scene import FADE_S, ZOOM, Overlay, Picture, Scene, blend
from generation.composer.yuv import Planes

# Scaled clip frames are kept up to this many bytes; past it, the clip plays at a lower
# frame rate rather than memory growing with the clip's length.
CLIP_CACHE_BYTES = 400 * 1024 * 1024


class ClipBackground:
    """The generated clip, scaled to cover the frame and dimmed, once per clip frame and
    only when first shown; a clip shorter than the ad plays forwards and back
    (ping-pong), one frame is held."""

    def __init__(self, clip_frames: np.ndarray | None, fps: float, size, dim: float, fallback):
        self.fps, self.size, self.dim, self.fallback = fps, size, dim, fallback
        count = 0 if clip_frames is None else len(clip_frames)
        frame_bytes = size[0] * size[1] * 3 // 2
        self.stride = max(1, -(-count * frame_bytes // CLIP_CACHE_BYTES))
        self.sources = [] if count == 0 else clip_frames[:: self.stride]
        self.scaled: dict[int, Planes] = {}

    def at(self, t: float) -> Planes:
        if not len(self.sources):
            return self.fallback
        index = _ping_pong(int(t * self.fps) // self.stride, len(self.sources))
        if index not in self.scaled:
            self.scaled[index] = _covering(self.sources[index], self.size, self.dim)
        return self.scaled[index]


def render_frame(scene: Scene, clip: ClipBackground, t: float) -> Planes:
    if t >= scene.body_s and scene.end_frame is not None:
        frame = scene.end_frame.copy()
        _blend_all(frame, scene.end_overlays, t)
    else:
        frame = clip.at(t).copy()
        for picture in scene.pictures:
            if picture.start <= t < picture.end:
                _paste_picture(frame, picture, t)
        _blend_all(frame, scene.overlays, t)
    if scene.watermark is not None:
        blend(frame, scene.watermark, 1.0)
    return frame


def _blend_all(frame: Planes, overlays: list[Overlay], t: float) -> None:
    for overlay in overlays:
        if not overlay.start <= t < overlay.end:
            continue
        progress = min(1.0, (t - overlay.start) / FADE_S)
        if overlay.motion == "fade":
            blend(frame, overlay, progress)
        elif overlay.motion == "wipe":
            width = overlay.box.right - overlay.box.left
            blend(frame, overlay, 1.0, columns=round(width * progress / 2) * 2)
        else:
            blend(frame, overlay, 1.0)


def _paste_picture(frame: Planes, picture: Picture, t: float) -> None:
    """Zoom into the source while drifting a little sideways. The crop moves in whole
    source pixels, so consecutive frames often share a crop and reuse its scaled planes."""
    progress = (t - picture.start) / max(1e-6, picture.end - picture.start)
    width, height = picture.sources[0].size
    step = round(width * ZOOM / (1 + ZOOM) * progress)  # pixels zoomed in so far
    box = picture.box
    if picture.cached_step != step:
        crop_w = width - step
        crop_h = crop_w * height / width
        drift = step * (0.3 + 0.4 * progress)
        top = (height - crop_h) / 2
        scaled = Planes.empty(box.size)
        crop = (drift, top, drift + crop_w, top + crop_h)
        yuv.scale_into(scaled, picture.sources, Box(0, 0, *box.size), crop)
        picture.cached, picture.cached_step = scaled, step
    cached = picture.cached
    frame.y[box.top : box.bottom, box.left : box.right] = cached.y
    top, left, bottom, right = box.top // 2, box.left // 2, box.bottom // 2, box.right // 2
    frame.u[top:bottom, left:right] = cached.u
    frame.v[top:bottom, left:right] = cached.v


def _covering(pixels: np.ndarray, size: tuple[int, int], dim: float) -> Planes:
    """A clip frame scaled to fill ``size`` (the overflow cropped, centred) and dimmed."""
    height, width = pixels.shape[:2]
    ratio = max(size[0] / width, size[1] / height)
    crop_w, crop_h = size[0] / ratio, size[1] / ratio
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    crop = (left, top, left + crop_w, top + crop_h)
    return yuv.from_image(Image.fromarray(pixels), size, dim, crop)


def _ping_pong(index: int, count: int) -> int:
    if count <= 1:
        return 0
    period = 2 * (count - 1)
    position = index % period
    return position if position < count else period - position
