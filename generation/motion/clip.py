"""One motion clip: a scene per product image, each a camera move over the product layer
standing in its backdrop, crossfaded into the next.

Every other frame the low-resolution 8-bit backdrop is moved by the camera (with
parallax), shadowed under the product and scaled up once; every frame starts from that
backdrop, and the premultiplied product layer (with its floor reflection, lit by a
passing sweep) is warped into its bounding box and laid over it.
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
# The backdrop moves slowly (a share of the camera, a drifting light, rising bokeh: well
# under a pixel a frame), so it is drawn for every third frame and copied for the next
# two; the product is drawn at the full rate. Its shadow and reflection, drawn with the
# backdrop, trail the product by at most 1.3 px at 720x1280 (the pan and float presets),
# under a soft reflection's blur. Two full-size passes in three saved.
BACKDROP_EVERY = 3


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
    palette = palette_for(layers[0].rgb, layers[0].alpha, rng, request.brand_colour)
    backdrop = Backdrop(size, palette, rng)
    first = preset_for(request.template, rng)
    scenes = [
        Scene(layer, size, backdrop, CameraPath(first if i == 0 else _next(first, i), rng))
        for i, layer in enumerate(layers)
    ]
    frames = FRAMES.take((request.num_frames, request.height, request.width, 3))
    # the scenes share the frames the ad shows; any after them hold the last scene's end
    span = min(request.num_frames, request.scene_frames or request.num_frames)
    timeline = Timeline(scenes, span, max(1, request.fps))
    # Frames depend only on their index, so the CPU's cores draw alternate runs of
    # BACKDROP_EVERY frames (OpenCV lets go of the GIL); the result is the same whatever
    # the number of threads.
    workers = min(WORKERS, request.num_frames)
    runs = [
        range(start, min(start + BACKDROP_EVERY, len(frames)))
        for start in range(0, len(frames), BACKDROP_EVERY)
    ]
    with _frames_in_parallel(), ThreadPoolExecutor(workers) as pool:
        list(
            pool.map(
                lambda first: timeline.draw(frames, runs[first::workers]),
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

    def draw(self, frames: np.ndarray, runs: list[range]) -> None:
        """Draw ``runs`` of frames, each starting at a multiple of BACKDROP_EVERY."""
        scenes, length, fade = self.scenes, self.length, self.fade
        scratch = np.empty_like(frames[0]) if len(scenes) > 1 else None
        backdrops = {}  # scene number: (the frame it was drawn for, the clean backdrop)
        for run in runs:
            numbers = {min(len(scenes) - 1, int(index // length)) for index in run}
            number = numbers.pop()
            if not numbers and (number == 0 or run[0] - number * length >= fade):
                # one scene, no fade: the backdrop straight into the first frame, copied
                # into the others before the product goes on
                span = max(1.0, length - 1)
                into = run[0] - number * length
                t = min(1.0, into / span)
                scenes[number].draw_backdrop(frames[run[0]], t, run[0] / self.fps)
                for index in run[1:]:
                    np.copyto(frames[index], frames[run[0]])
                for index in run:
                    t = min(1.0, (index - number * length) / span)
                    scenes[number].draw_product(frames[index], t)
                continue
            for index in run:
                number = min(len(scenes) - 1, int(index // length))
                into = index - number * length
                self._draw(frames[index], number, into, index, backdrops)
                if number > 0 and into < fade:  # the scene before lingers, fading out
                    self._draw(scratch, number - 1, into + length, index, backdrops)
                    weight = (into + 1) / (fade + 1)
                    cv2.addWeighted(
                        frames[index], weight, scratch, 1 - weight, 0, dst=frames[index]
                    )

    def _draw(self, out, number: int, into: float, index: int, backdrops: dict) -> None:
        """Scene ``number`` at ``into`` frames from its start, for frame ``index``; its
        backdrop is the one of the run's first frame, whichever thread draws it."""
        scene, span = self.scenes[number], max(1.0, self.length - 1)
        drawn_for = index - index % BACKDROP_EVERY
        kept = backdrops.get(number)
        if kept is None or kept[0] != drawn_for:
            back_into = into - (index - drawn_for)
            clean = kept[1] if kept is not None else np.empty_like(out)
            scene.draw_backdrop(clean, min(1.0, max(0.0, back_into / span)), drawn_for / self.fps)
            backdrops[number] = kept = (drawn_for, clean)
        np.copyto(out, kept[1])
        scene.draw_product(out, min(1.0, into / span))


def _next(first: str, index: int) -> str:
    order = ("push_in", "orbit", "pan", "float")
    return order[(order.index(first) + index) % len(order)]


@dataclass
class Sprite:
    """The product layer at its largest shown size, premultiplied, with its reflection."""

    layer: np.ndarray  # (h, w, 4) uint8: premultiplied RGB and 255 - alpha (one warp)
    product_height: int  # its rows (the reflection starts below them)
    diagonal: np.ndarray  # (3,): the sweep's place across the product, affine in (x, y, 1)
    # The floor reflection, as ``layer`` but at 1/LOW scale: soft and faint, it is drawn
    # into the low-resolution backdrop; ``to_sprite`` maps its pixels to the layer's.
    reflection: np.ndarray
    to_sprite: np.ndarray  # 3x3


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
    layer = _premultiplied(rgb, alpha)
    reflection = _premultiplied(reflected, reflected_alpha)
    low = (max(1, round(width / LOW)), max(1, round(rows / LOW)))
    reflection = cv2.resize(reflection, low, interpolation=cv2.INTER_AREA)
    fx, fy = width / low[0], rows / low[1]  # as resize maps pixel centres
    to_sprite = np.array([[fx, 0, fx / 2 - 0.5], [0, fy, fy / 2 - 0.5 + height], [0, 0, 1]])
    # 0 at the top left corner, about 1 at the bottom right of the product
    diagonal = np.array([0.75 / width, 0.35 / height, 0.0]) / 1.1
    return Sprite(layer, height, diagonal, reflection, to_sprite)


def _premultiplied(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(h, w, 4) uint8: RGB times alpha, and 255 - alpha (what shows through)."""
    return np.dstack([rgb * alpha[..., None], 255 - alpha * 255]).round().astype(np.uint8)


# frame pixels -> the low-resolution backdrop's, as resize maps pixel centres
TO_LOW = np.array([[1 / LOW, 0, 0.5 / LOW - 0.5], [0, 1 / LOW, 0.5 / LOW - 0.5], [0, 0, 1]])


# The sweep's band of light across the diagonal, sampled SWEEP_STEPS times per unit: at
# least one level within SWEEP_REACH of its centre (exp(-8) * 110 < 1 beyond).
SWEEP_STEPS, SWEEP_REACH, SWEEP_WIDTH, SWEEP_PEAK = 1024, 0.2, 0.07, 110
_band = np.arange(-SWEEP_REACH * SWEEP_STEPS, SWEEP_REACH * SWEEP_STEPS + 1) / SWEEP_STEPS
SWEEP_BAND = np.tile(
    np.round(SWEEP_PEAK * np.exp(-((_band / SWEEP_WIDTH) ** 2))).astype(np.uint8), (2, 1)
)


def _sweep(sprite: Sprite, local: np.ndarray, position: float, box) -> np.ndarray:
    """The sweep's light (uint8, one channel) over the warped box, before the product's
    alpha. The band is a function of the diagonal, which is affine in the box's pixels, so
    one warp of the band's profile draws it; it is smooth, so at a quarter of the size."""
    inverse = cv2.invertAffineTransform(local)  # box pixels -> sprite pixels
    row = SWEEP_STEPS * (sprite.diagonal[:2] @ inverse)
    row[2] += SWEEP_STEPS * (sprite.diagonal[2] - position) + SWEEP_REACH * SWEEP_STEPS
    small = (max(2, -(-box[0] // 4)), max(2, -(-box[1] // 4)))
    sx, sy = box[0] / small[0], box[1] / small[1]
    # the small pixel (u, v) is the box's ((u + 0.5) sx - 0.5, (v + 0.5) sy - 0.5), as resize
    lookup = np.array(
        [
            [row[0] * sx, row[1] * sy, row[2] + row[0] * (sx - 1) / 2 + row[1] * (sy - 1) / 2],
            [0.0, 0.0, 0.0],
        ]
    )
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    band = cv2.warpAffine(SWEEP_BAND, lookup, small, flags=flags, borderValue=0)
    return cv2.resize(band, box, interpolation=cv2.INTER_LINEAR)


class Scene:
    """One product image in its backdrop, drawn at any moment of its camera path."""

    def __init__(self, layer: ProductLayer, size, backdrop: Backdrop, camera: CameraPath):
        self.size, self.backdrop, self.camera = size, backdrop, camera
        width, height = size
        # at most this share of the frame's width and height: a tall product's top stays
        # below a tenth of the frame at the closest push-in (the floor is at FLOOR)
        box = (0.84, 0.36) if layer.plate else (0.76, 0.36)
        aspect = layer.rgb.shape[1] / layer.rgb.shape[0]
        display_w = min(width * box[0], height * box[1] * aspect)
        display = (display_w, display_w / aspect)
        self.sprite = sprite_for(layer, display)
        # where the product stands, before the camera moves: above the middle, so the
        # templates' title and price panels (lower third) sit under it, not across it
        self.floor_y = height * FLOOR
        self.display = display

    def draw(self, out: np.ndarray, t: float, seconds: float) -> None:
        """The scene at ``t`` (0 to 1 across it), ``seconds`` into the clip."""
        self.draw_backdrop(out, t, seconds)
        self.draw_product(out, t)

    def _foot(self, pose):
        """Where the product's foot is (frame pixels), and the pan."""
        width, height = self.size
        centre = np.array([width / 2, height / 2])
        pan = np.array([pose.dx * width, pose.dy * height])
        return centre + (np.array([width / 2, self.floor_y]) - centre) * pose.zoom + pan, pan

    def draw_backdrop(self, out: np.ndarray, t: float, seconds: float) -> None:
        """The backdrop, moved by a share of the camera, shadowed, scaled up once."""
        pose = self.camera.at(t)
        width, height = self.size
        foot, pan = self._foot(pose)
        low_w, low_h = self.backdrop.low
        back_zoom = 1.04 + (pose.zoom - 1) * PARALLAX
        back_pan = pan * PARALLAX / LOW
        move = cv2.getRotationMatrix2D((low_w / 2, low_h / 2), 0.0, back_zoom)
        move[:, 2] += back_pan
        world = cv2.warpAffine(
            self.backdrop.world(seconds), move, (low_w, low_h), borderMode=cv2.BORDER_REFLECT
        )
        lift = pose.lift / 0.03  # 0 on the floor .. about 1 at the top of a float
        shadow_width = self.display[0] * 0.85 * pose.zoom * (1 - 0.25 * lift) / LOW
        strength = 0.5 * (1 - 0.5 * lift)
        self.backdrop.shadow_under(world, foot / LOW, shadow_width, strength)
        # the floor reflection, placed as the product is (below its foot)
        to_world = TO_LOW @ np.vstack([self._placement(pose), [0, 0, 1]]) @ self.sprite.to_sprite
        _composite(world, self.sprite.reflection, to_world[:2], (0, 0, 0, 255))
        world = cv2.cvtColor(world, cv2.COLOR_RGBA2RGB)
        cv2.resize(world, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)

    def draw_product(self, out: np.ndarray, t: float) -> None:
        """The product over ``out``: its foot on the floor point, lifted, tilted, zoomed,
        and lit by the sweep while it passes."""
        pose = self.camera.at(t)
        sweep = None
        if SWEEP[0] <= t <= SWEEP[1]:
            sweep = -0.2 + 1.4 * (t - SWEEP[0]) / (SWEEP[1] - SWEEP[0])
        self._lay(out, self._placement(pose), sweep)

    def _placement(self, pose) -> np.ndarray:
        """The layer's pixels -> the frame's (2x3)."""
        foot, _ = self._foot(pose)
        scale = pose.zoom / ZOOM_MAX
        anchor = (self.sprite.layer.shape[1] / 2, float(self.sprite.product_height))
        place = cv2.getRotationMatrix2D(anchor, pose.angle, scale)
        place[:, 2] += foot - np.array(anchor) - np.array([0.0, pose.lift * self.size[1]])
        return place

    def _lay(self, out: np.ndarray, place: np.ndarray, sweep: float | None) -> None:
        """Warp the layer into its bounding box only and composite it over ``out``."""
        layer = self.sprite.layer
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
        keep = cv2.extractChannel(warped, 3)
        rgb = cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB)
        if sweep is not None:  # light on the product: band x alpha, added to its colour
            band = _sweep(self.sprite, local, sweep, box)
            light = cv2.multiply(band, cv2.bitwise_not(keep), scale=1 / 255)
            cv2.add(rgb, cv2.cvtColor(light, cv2.COLOR_GRAY2RGB), dst=rgb)
        region = out[top:bottom, left:right]
        cv2.multiply(region, cv2.cvtColor(keep, cv2.COLOR_GRAY2RGB), dst=region, scale=1 / 255)
        cv2.add(region, rgb, dst=region)


def _composite(out: np.ndarray, layer: np.ndarray, place: np.ndarray, border) -> None:
    """A premultiplied layer (RGB, 255 - alpha) over four-channel ``out``, warped by
    ``place`` into its bounding box only."""
    h, w = layer.shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ place.T
    left, top = np.maximum(0, np.floor(corners.min(axis=0)).astype(int))
    right = min(out.shape[1], int(np.ceil(corners[:, 0].max())))
    bottom = min(out.shape[0], int(np.ceil(corners[:, 1].max())))
    if right <= left or bottom <= top:
        return
    local = place.copy()
    local[:, 2] -= (left, top)
    warped = cv2.warpAffine(layer, local, (right - left, bottom - top), borderValue=border)
    keep = cv2.extractChannel(warped, 3)
    region = out[top:bottom, left:right]
    cv2.multiply(region, cv2.merge([keep, keep, keep, keep]), dst=region, scale=1 / 255)
    warped[..., 3] = 0  # what shows through was used above; the colour is added
    cv2.add(region, warped, dst=region)
