"""Per-frame work, all in numpy: copy the background (a cached, scaled clip frame), paste
the product images at their pan and zoom, blend the text overlays in their boxes."""

from __future__ import annotations

import numpy as np
from PIL import Image

from generation.composer.scene import FADE_S, ZOOM, Overlay, Scene, blend, cover

# Scaled clip frames are kept up to this many bytes; past it, the clip plays at a lower
# frame rate rather than memory growing with the clip's length.
CLIP_CACHE_BYTES = 400 * 1024 * 1024


class ClipBackground:
    """The generated clip, scaled to cover the frame and dimmed, once per clip frame; a
    clip shorter than the ad plays forwards and back (ping-pong), one frame is held."""

    def __init__(self, clip_frames: np.ndarray | None, fps: float, size, dim: float, fallback):
        self.fps = fps
        self.fallback = fallback
        count = 0 if clip_frames is None else len(clip_frames)
        frame_bytes = size[0] * size[1] * 3
        self.stride = max(1, -(-count * frame_bytes // CLIP_CACHE_BYTES))
        kept = [] if count == 0 else clip_frames[:: self.stride]
        self.frames = [_dimmed(cover(Image.fromarray(f), size), dim) for f in kept]

    def at(self, t: float) -> np.ndarray:
        if not self.frames:
            return self.fallback
        index = _ping_pong(int(t * self.fps) // self.stride, len(self.frames))
        return self.frames[index]


def render_frame(scene: Scene, clip: ClipBackground, t: float) -> np.ndarray:
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


def _blend_all(frame: np.ndarray, overlays: list[Overlay], t: float) -> None:
    for overlay in overlays:
        if not overlay.start <= t < overlay.end:
            continue
        progress = min(1.0, (t - overlay.start) / FADE_S)
        if overlay.motion == "fade":
            blend(frame, overlay, progress)
        elif overlay.motion == "wipe":
            width = overlay.box.right - overlay.box.left
            blend(frame, overlay, 1.0, columns=round(width * progress))
        else:
            blend(frame, overlay, 1.0)


def _paste_picture(frame: np.ndarray, picture, t: float) -> None:
    """Zoom into the source while drifting a little sideways. The crop moves in whole
    source pixels, so consecutive frames often share a crop and reuse its scaled image."""
    progress = (t - picture.start) / max(1e-6, picture.end - picture.start)
    source = picture.source
    step = round(source.width * ZOOM / (1 + ZOOM) * progress)  # pixels zoomed in so far
    if picture.cached_step != step:
        crop_w = source.width - step
        crop_h = crop_w * source.height / source.width
        drift = step * (0.3 + 0.4 * progress)
        top = (source.height - crop_h) / 2
        scaled = source.resize(
            picture.box.size,
            Image.Resampling.BILINEAR,
            box=(drift, top, drift + crop_w, top + crop_h),
        )
        picture.cached, picture.cached_step = np.asarray(scaled), step
    box = picture.box
    frame[box.top : box.bottom, box.left : box.right] = picture.cached


def _dimmed(image: Image.Image, dim: float) -> np.ndarray:
    pixels = np.asarray(image.convert("RGB"))
    if dim <= 0:
        return pixels.copy()
    return (pixels * np.float32(1 - dim)).astype(np.uint8)


def _ping_pong(index: int, count: int) -> int:
    if count <= 1:
        return 0
    period = 2 * (count - 1)
    position = index % period
    return position if position < count else period - position
