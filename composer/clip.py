"""The generated clip, the ad's hero: fitted into its box undimmed, in yuv420p.

A clip of nearly the box's shape covers the box (at most ``COVER_SLACK`` of it cut off
each way); any other is fitted whole, never cropped, and the rest of the frame shows a
blurred, darkened copy of it, so that the frame is never empty and never still.

Scaling every clip frame up to 1080x1920 was the composer's largest cost in Pillow.
ffmpeg's scaler does the crop, the scale, the colour conversion and the dim (a lookup
table) in SIMD code, in its own process, while the composer works on earlier frames;
frames are read from it in order, as the ad first shows them.
"""

from __future__ import annotations

import subprocess
from threading import Thread

import imageio_ffmpeg
import numpy as np

from composer.encode import widen_pipe
from composer.formats import Box
from composer.yuv import Planes

# Scaled clip frames are kept up to this many bytes; past it, the clip plays at a lower
# frame rate rather than memory growing with the clip's length.
CLIP_CACHE_BYTES = 400 * 1024 * 1024
COVER_SLACK = 0.06  # a clip whose shape differs from its box's by less covers the box
MIRROR_SLACK = 0.02  # a gap under this share of the frame is a rounding, not a panel
MIRROR_BAND = 0.2  # the share of the clip along a panel's side mirrored into the panel


def clip_placement(clip_size: tuple[int, int], frame_size: tuple[int, int], box: Box | None) -> Box:
    """Where the clip's frames land, in frame pixels (beyond ``box`` where it covers)."""
    box = box or Box(0, 0, *frame_size)
    width, height = clip_size
    box_w, box_h = box.size
    covers = abs((width / height) / (box_w / box_h) - 1) < COVER_SLACK
    ratio = (max if covers else min)(box_w / width, box_h / height)
    fit_w, fit_h = round(width * ratio / 2) * 2, round(height * ratio / 2) * 2
    left = box.left + (box_w - fit_w) // 4 * 2
    top = box.top + (box_h - fit_h) // 4 * 2
    return Box(left, top, left + fit_w, top + fit_h)


class ClipBackground:
    """The clip's frames, each scaled once, when first shown; a clip shorter than the ad
    plays forwards and back (ping-pong), one frame is held, none gives ``fallback``."""

    def __init__(
        self, clip_frames: np.ndarray | None, fps: float, size, dim: float, fallback, box=None
    ):
        self.fps, self.fallback = fps, fallback
        count = 0 if clip_frames is None else len(clip_frames)
        frame_bytes = size[0] * size[1] * 3 // 2
        self.stride = max(1, -(-count * frame_bytes // CLIP_CACHE_BYTES))
        self.count = -(-count // self.stride)
        # One block for every scaled frame: numpy asks the kernel for huge pages for
        # large arrays, so filling it takes hundreds of page faults, not a hundred thousand.
        self.block = np.empty((self.count, frame_bytes), dtype=np.uint8)
        self.scaled: list[Planes] = []
        self._scaler = None
        if count:
            self._scaler = _Scaler(clip_frames[:: self.stride], size, dim, box)

    def at(self, t: float) -> Planes:
        if not self.count:
            return self.fallback
        index = _ping_pong(int(t * self.fps) // self.stride, self.count)
        while len(self.scaled) <= index:  # the first pass runs forwards, so in order
            self.scaled.append(self._scaler.read_into(self.block[len(self.scaled)]))
        return self.scaled[index]

    def close(self) -> None:
        if self._scaler is not None:
            self._scaler.close()


class _Scaler:
    """An ffmpeg process turning RGB clip frames into yuv420p frames: the clip fitted
    (or covering) at ``clip_placement``, over a blurred and ``dim``-med copy of itself
    that covers the frame wherever the clip does not."""

    def __init__(self, frames: np.ndarray, size: tuple[int, int], dim: float, box: Box | None):
        height, width = frames.shape[1:3]
        place = clip_placement((width, height), size, box)
        frame = Box(0, 0, *size)
        if (
            place.left <= 0
            and place.top <= 0
            and place.right >= size[0]
            and place.bottom >= size[1]
        ):
            crop = _crop_to(place, frame, (width, height))
            graph = f"[0:v]{crop}scale={size[0]}:{size[1]}:flags=bilinear,format=yuv420p[out]"
        else:
            keep = 1 - dim
            shown = Box(max(0, place.left), max(0, place.top),
                        min(size[0], place.right), min(size[1], place.bottom))  # fmt: skip
            side = _one_side_gap(shown, size)
            if side is None:
                back = _blurred_cover((width, height), size)
            else:
                back = _blurred_mirror((width, height), size, shown, side)
            graph = (
                f"[0:v]split=2[a][b];"
                f"[a]{back},"
                f"lutrgb=r=val*{keep:.4f}:g=val*{keep:.4f}:b=val*{keep:.4f}[back];"
                f"[b]{_crop_to(place, shown, (width, height))}"
                f"scale={shown.size[0]}:{shown.size[1]}:flags=bilinear[front];"
                f"[back][front]overlay={shown.left}:{shown.top},format=yuv420p[out]"
            )
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "-",
            "-filter_complex", graph, "-map", "[out]", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-",
        ]  # fmt: skip
        self.size = size
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        widen_pipe(self.process.stdin)
        widen_pipe(self.process.stdout)
        self.feeder = Thread(target=self._feed, args=(frames,), daemon=True)
        self.feeder.start()

    def _feed(self, frames: np.ndarray) -> None:
        try:
            for frame in frames:
                self.process.stdin.write(np.ascontiguousarray(frame).data)
            self.process.stdin.close()
        except (BrokenPipeError, ValueError):
            pass  # closed early: the ad needed fewer frames

    def read_into(self, buffer: np.ndarray) -> Planes:
        """The next scaled frame, read into ``buffer``."""
        planes = Planes(*self.size, buffer)
        view, filled = memoryview(buffer), 0
        while filled < len(view):
            read = self.process.stdout.readinto(view[filled:])
            if not read:
                error = self.process.stderr.read().decode(errors="replace").strip()
                raise RuntimeError(f"ffmpeg could not scale the clip: {error or 'no output'}")
            filled += read
        return planes

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self.feeder.join()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            stream.close()


def _blurred_cover(clip_size: tuple[int, int], size: tuple[int, int]) -> str:
    """The clip scaled to cover the frame and blurred: the fill around a fitted clip."""
    small = (max(2, size[0] // 12 // 2 * 2), max(2, size[1] // 12 // 2 * 2))
    crop = _crop_to(_covering(clip_size, size), Box(0, 0, *size), clip_size)
    return f"{crop}scale={small[0]}:{small[1]},boxblur=3:2,scale={size[0]}:{size[1]}:flags=bilinear"


def _one_side_gap(shown: Box, size: tuple[int, int]) -> str | None:
    """The side of the frame the clip leaves uncovered when it leaves only one (a
    template's text panel beside or below the clip); None for bars around a fitted clip."""
    gaps = {
        "left": shown.left / size[0],
        "right": (size[0] - shown.right) / size[0],
        "top": shown.top / size[1],
        "bottom": (size[1] - shown.bottom) / size[1],
    }
    open_sides = [side for side, gap in gaps.items() if gap > MIRROR_SLACK]
    return open_sides[0] if len(open_sides) == 1 else None


def _blurred_mirror(
    clip_size: tuple[int, int], size: tuple[int, int], shown: Box, side: str
) -> str:
    """The band of the clip along ``side``, mirrored into the panel beside it and
    blurred: the clip's own backdrop continues across the seam instead of a blurred copy
    of the whole clip (whose product showed as a smear beside the real one)."""
    width, height = clip_size
    horizontal = side in ("left", "right")
    if horizontal:
        gap = (shown.left if side == "left" else size[0] - shown.right, size[1])
        band = max(2, round(width * MIRROR_BAND))
        crop = f"crop={band}:{height}:{0 if side == 'left' else width - band}:0,hflip"
        at = (0, 0) if side == "left" else (shown.right, 0)
    else:
        gap = (size[0], shown.top if side == "top" else size[1] - shown.bottom)
        band = max(2, round(height * MIRROR_BAND))
        crop = f"crop={width}:{band}:0:{0 if side == 'top' else height - band},vflip"
        at = (0, 0) if side == "top" else (0, shown.bottom)
    small = (max(2, gap[0] // 12 // 2 * 2), max(2, gap[1] // 12 // 2 * 2))
    return (
        f"{crop},scale={small[0]}:{small[1]},boxblur=3:2,"
        f"scale={gap[0]}:{gap[1]}:flags=bilinear,pad={size[0]}:{size[1]}:{at[0]}:{at[1]}"
    )


def _covering(clip_size: tuple[int, int], size: tuple[int, int]) -> Box:
    """The clip scaled to cover the whole frame, centred (for the blurred backdrop)."""
    ratio = max(size[0] / clip_size[0], size[1] / clip_size[1])
    width, height = round(clip_size[0] * ratio), round(clip_size[1] * ratio)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return Box(left, top, left + width, top + height)


def _crop_to(place: Box, shown: Box, clip_size: tuple[int, int]) -> str:
    """An ffmpeg crop of the clip to the part of ``place`` (the clip in frame pixels)
    that falls within ``shown``; empty when it is all shown."""
    width, height = clip_size
    scale_x, scale_y = width / place.size[0], height / place.size[1]
    left = max(0, round((shown.left - place.left) * scale_x))
    top = max(0, round((shown.top - place.top) * scale_y))
    right = min(width, round((shown.right - place.left) * scale_x))
    bottom = min(height, round((shown.bottom - place.top) * scale_y))
    if (left, top, right, bottom) == (0, 0, width, height):
        return ""
    return f"crop={right - left}:{bottom - top}:{left}:{top},"


def _ping_pong(index: int, count: int) -> int:
    if count <= 1:
        return 0
    period = 2 * (count - 1)
    position = index % period
    return position if position < count else period - position
