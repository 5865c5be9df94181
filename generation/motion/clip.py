"""One motion clip: a scene per product image, each a camera move over the product layer
standing in its backdrop, crossfaded into the next.

Per frame: the low-resolution backdrop is moved by the camera (with parallax) and shadowed
under the product, scaled up once, and the premultiplied product layer (with its floor
reflection, lit by a passing sweep) is warped into its bounding box and laid over it.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from generation.clips import RenderRequest
from generation.motion.camera import PARALLAX, CameraPath, preset_for
from generation.motion.cutout import ProductLayer, product_layer
from generation.motion.scene import LOW, Backdrop, palette_for

MAX_SCENES = 3
ZOOM_MAX = 1.16  # the product layer is prepared at the largest size it is shown
CROSSFADE_S = 0.4
REFLECTION = 0.3  # the reflection's height, as a share of the product's, and its opacity
FLOOR = 0.5  # the floor line, share of the frame's height (the backdrop draws it there too)
SWEEP = (0.3, 0.62)  # when, in each scene, the light sweep crosses the product
WORKERS = os.cpu_count() or 1
# Frame buffers are kept for the next batch, up to this many bytes (a 6 s 720x1280 clip at
# 30 fps is 500 MB): fresh memory is slow on a VM (page faults, zeroing; far more the first
# time the host backs it), and a worker renders batch after batch of the same size.
POOL_BYTES = 4 << 30


class FramePool:
    """Frame arrays handed out again once nothing refers to them any more.

    A buffer is free when the pool's own list is its only holder: a clip's frames, any
    slice or view of them (a view holds its base) and any buffer exported from them keep
    it taken. Every frame of a clip is drawn over in full, so a reused buffer gives the
    same clip as a fresh one.
    """

    def __init__(self, limit: int = POOL_BYTES):
        self.limit, self.buffers, self.lock = limit, [], threading.Lock()

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        with self.lock:
            for index in self._free():
                if self.buffers[index].shape == shape:
                    return self.buffers[index]
            size = int(np.prod(shape))
            if size > self.limit:
                return np.empty(shape, np.uint8)
            while sum(b.nbytes for b in self.buffers) + size > self.limit:
                free = self._free()
                if not free:
                    return np.empty(shape, np.uint8)  # the pool is full of taken buffers
                del self.buffers[free[0]]
            buffer = np.empty(shape, np.uint8)
            self.buffers.append(buffer)
            return buffer

    def _free(self) -> list[int]:
        # held by the list, getrefcount's argument and nothing else
        return [i for i in range(len(self.buffers)) if sys.getrefcount(self.buffers[i]) == 2]


FRAMES = FramePool()


def render_clip(request: RenderRequest) -> tuple[np.ndarray, tuple[str, ...]]:
    """(frames (n, h, w, 3) uint8, notes); the same request gives the same frames."""
    size = (request.width, request.height)
    rng = np.random.default_rng(request.seed)
    images = (request.image, *request.extra_images)[:MAX_SCENES]
    layers = [product_layer(image, f"image {i + 1}") for i, image in enumerate(images)]
    palette = palette_for(layers[0].rgb, layers[0].alpha, rng)
    backdrop = Backdrop(size, palette, rng)
    first = preset_for(request.template, rng)
    scenes = [
        Scene(layer, size, backdrop, CameraPath(first if i == 0 else _next(first, i), rng))
        for i, layer in enumerate(layers)
    ]
    frames = FRAMES.take((request.num_frames, request.height, request.width, 3))
    timeline = Timeline(scenes, request.num_frames, max(1, request.fps))
    # Frames depend only on their index, so the CPU's cores draw alternate frames
    # (OpenCV lets go of the GIL); the result is the same whatever the number of threads.
    workers = min(WORKERS, request.num_frames)
    with _frames_in_parallel(), ThreadPoolExecutor(workers) as pool:
        list(
            pool.map(
                lambda first: timeline.draw(frames, range(first, len(frames), workers)),
                range(workers),
            )
        )
    notes = tuple(layer.note for layer in layers if layer.note)
    return frames, notes


_threads_lock = threading.Lock()
_threads_users = 0
_threads_before = 0


@contextmanager
def _frames_in_parallel():
    """OpenCV's own thread pool off while our threads draw frames: each call is small, and
    both pools on two cores only contend (about 7% more CPU). Restored after the last
    clip being drawn; it changes speed only, never pixels."""
    global _threads_users, _threads_before
    with _threads_lock:
        if _threads_users == 0:
            _threads_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _threads_users += 1
    try:
        yield
    finally:
        with _threads_lock:
            _threads_users -= 1
            if _threads_users == 0:
                cv2.setNumThreads(_threads_before)


class Timeline:
    """Which scene each frame shows, and the crossfade from one scene to the next."""

    def __init__(self, scenes: list[Scene], num_frames: int, fps: int):
        self.scenes, self.fps = scenes, fps
        self.length = num_frames / len(scenes)
        self.fade = min(round(CROSSFADE_S * fps), int(self.length // 3))

    def draw(self, frames: np.ndarray, indices: range) -> None:
        scenes, length, fade = self.scenes, self.length, self.fade
        scratch = np.empty_like(frames[0]) if len(scenes) > 1 else None
        for index in indices:
            number = min(len(scenes) - 1, int(index // length))
            into = index - number * length
            seconds = index / self.fps
            scenes[number].draw(frames[index], into / max(1.0, length - 1), seconds)
            if number > 0 and into < fade:  # the scene before lingers, fading out
                previous_t = min(1.0, (into + length) / max(1.0, length - 1))
                scenes[number - 1].draw(scratch, previous_t, seconds)
                weight = (into + 1) / (fade + 1)
                cv2.addWeighted(frames[index], weight, scratch, 1 - weight, 0, dst=frames[index])


def _next(first: str, index: int) -> str:
    order = ("push_in", "orbit", "pan", "float")
    return order[(order.index(first) + index) % len(order)]


@dataclass
class Sprite:
    """The product layer at its largest shown size, premultiplied, with its reflection."""

    layer: np.ndarray  # (h, w, 4) uint8: premultiplied RGB and 255 - alpha (one warp)
    alpha: np.ndarray  # (h, w) float32 0..1, for the sweep
    diagonal: np.ndarray  # (h, w) float32: where the sweep is, 0..1 across the product
    product_height: int  # rows above the reflection


def sprite_for(layer: ProductLayer, display: tuple[float, float]) -> Sprite:
    width, height = max(2, round(display[0] * ZOOM_MAX)), max(2, round(display[1] * ZOOM_MAX))
    grow = width > layer.rgb.shape[1]
    method = cv2.INTER_CUBIC if grow else cv2.INTER_AREA
    rgb = cv2.resize(layer.rgb, (width, height), interpolation=method)
    alpha = cv2.resize(layer.alpha, (width, height), interpolation=method).astype(np.float32)
    alpha /= 255
    # the floor reflection: the bottom of the product, flipped, fading, a little soft
    rows = max(1, round(height * REFLECTION))
    fade = np.linspace(REFLECTION, 0.0, rows, dtype=np.float32)[:, None]
    reflected_alpha = alpha[::-1][:rows] * fade
    reflected = cv2.GaussianBlur(rgb[::-1][:rows], (0, 0), sigmaX=max(0.5, height / 250))
    rgb = np.concatenate([rgb, reflected])
    alpha = np.concatenate([alpha, reflected_alpha])
    ys, xs = np.mgrid[0 : alpha.shape[0], 0:width].astype(np.float32)
    diagonal = (xs / width * 0.75 + ys / height * 0.35) / 1.1
    premultiplied = rgb * alpha[..., None]
    layer = np.dstack([premultiplied, 255 - alpha * 255]).round().astype(np.uint8)
    return Sprite(layer, alpha, diagonal, height)


def _lit(sprite: Sprite, position: float) -> np.ndarray:
    """The sprite's layer with the sweep's band of light at ``position`` (on the diagonal).

    Light is added only where it is at least one level: 0.2 or more from the band's
    centre it is below exp(-8) * 110 < 1 and rounds down to nothing, so only the box
    around the band is computed (the diagonal grows along rows and columns).
    """
    diagonal, reach = sprite.diagonal, 0.2
    near_cols = np.flatnonzero((diagonal[-1] > position - reach) & (diagonal[0] < position + reach))
    near_rows = np.flatnonzero(
        (diagonal[:, -1] > position - reach) & (diagonal[:, 0] < position + reach)
    )
    if not len(near_cols) or not len(near_rows):
        return sprite.layer
    rows = slice(near_rows[0], near_rows[-1] + 1)
    cols = slice(near_cols[0], near_cols[-1] + 1)
    band = np.exp(-(((diagonal[rows, cols] - position) / 0.07) ** 2)) * sprite.alpha[rows, cols]
    light = (band * 110).astype(np.uint8)
    layer = sprite.layer.copy()
    lit = layer[rows, cols]
    cv2.add(lit, cv2.merge([light, light, light, np.zeros_like(light)]), dst=lit)
    return layer


class Scene:
    """One product image in its backdrop, drawn at any moment of its camera path."""

    def __init__(self, layer: ProductLayer, size, backdrop: Backdrop, camera: CameraPath):
        self.size, self.backdrop, self.camera = size, backdrop, camera
        width, height = size
        box = (0.84, 0.56) if layer.plate else (0.76, 0.46)
        aspect = layer.rgb.shape[1] / layer.rgb.shape[0]
        display_w = min(width * box[0], height * box[1] * aspect)
        display = (display_w, display_w / aspect)
        self.sprite = sprite_for(layer, display)
        # where the product stands, before the camera moves: above the middle, so the
        # templates' title and price panels (lower third) sit under it, not across it
        self.floor_y = height * FLOOR
        self.display = display

    def draw(self, out: np.ndarray, t: float, seconds: float) -> None:
        pose = self.camera.at(t)
        width, height = self.size
        centre = np.array([width / 2, height / 2])
        pan = np.array([pose.dx * width, pose.dy * height])
        # 1. the backdrop, moved by a share of the camera, shadowed, scaled up once
        low_w, low_h = self.backdrop.low
        back_zoom = 1.04 + (pose.zoom - 1) * PARALLAX
        back_pan = pan * PARALLAX / LOW
        move = cv2.getRotationMatrix2D((low_w / 2, low_h / 2), 0.0, back_zoom)
        move[:, 2] += back_pan
        world = cv2.warpAffine(
            self.backdrop.world(seconds), move, (low_w, low_h), borderMode=cv2.BORDER_REFLECT
        )
        foot = centre + (np.array([width / 2, self.floor_y]) - centre) * pose.zoom + pan
        lift = pose.lift / 0.03  # 0 on the floor .. about 1 at the top of a float
        shadow_width = self.display[0] * 0.85 * pose.zoom * (1 - 0.25 * lift) / LOW
        strength = (0.55 if not self.sprite.product_height else 0.5) * (1 - 0.5 * lift)
        world = self.backdrop.shadowed(world, foot / LOW, shadow_width, strength)
        low_frame = cv2.convertScaleAbs(world)
        cv2.resize(low_frame, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)
        # 2. the product layer, lit by the sweep while it passes
        sprite = self.sprite
        layer = sprite.layer
        if SWEEP[0] <= t <= SWEEP[1]:
            layer = _lit(sprite, -0.2 + 1.4 * (t - SWEEP[0]) / (SWEEP[1] - SWEEP[0]))
        # 3. placed by the camera: its foot on the floor point, lifted, tilted, zoomed
        scale = pose.zoom / ZOOM_MAX
        anchor = (sprite.layer.shape[1] / 2, float(sprite.product_height))
        place = cv2.getRotationMatrix2D(anchor, pose.angle, scale)
        place[:, 2] += foot - np.array(anchor) - np.array([0.0, pose.lift * height])
        self._lay(out, layer, place)

    def _lay(self, out: np.ndarray, layer: np.ndarray, place: np.ndarray) -> None:
        """Warp the layer into its bounding box only and composite it over ``out``."""
        h, w = layer.shape[:2]
        corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ place.T
        left, top = np.floor(corners.min(axis=0)).astype(int)
        right, bottom = np.ceil(corners.max(axis=0)).astype(int)
        left, top = max(0, left), max(0, top)
        right, bottom = min(out.shape[1], right), min(out.shape[0], bottom)
        if right <= left or bottom <= top:
            return
        box = (right - left, bottom - top)
        local = place.copy()
        local[:, 2] -= (left, top)
        warped = cv2.warpAffine(layer, local, box, borderValue=(0, 0, 0, 255))
        keep = cv2.cvtColor(cv2.extractChannel(warped, 3), cv2.COLOR_GRAY2RGB)
        region = out[top:bottom, left:right]
        cv2.multiply(region, keep, dst=region, scale=1 / 255)
        cv2.add(region, cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB), dst=region)
