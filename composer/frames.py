"""Per-frame work, all numpy on yuv420p planes: copy the background (a scaled clip frame
from ``clip``), paste the product images at their pan and zoom, blend the text overlays
in their boxes."""

from __future__ import annotations

import numpy as np

from composer import yuv
from composer.clip import ClipBackground
from composer.formats import Box
from composer.scene import FADE_S, ZOOM, Overlay, Picture, Scene, blend
from composer.yuv import Planes


def render_frame(scene: Scene, clip: ClipBackground, t: float, out: Planes | None = None) -> Planes:
    """The frame at ``t``, into ``out`` when given (a recycled buffer of the frame size)."""
    frame = out if out is not None else Planes.empty(scene.size)
    if t >= scene.body_s and scene.end_frame is not None:
        np.copyto(frame.buffer, scene.end_frame.buffer)
        _blend_all(frame, scene.end_overlays, t)
    else:
        np.copyto(frame.buffer, clip.at(t).buffer)
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
