"""The generated clip behind an ad: scaled to cover the frame, dimmed, in yuv420p.

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
from composer.yuv import Planes

# Scaled clip frames are kept up to this many bytes; past it, the clip plays at a lower
# frame rate rather than memory growing with the clip's length.
CLIP_CACHE_BYTES = 400 * 1024 * 1024


class ClipBackground:
    """The clip's frames, each scaled once, when first shown; a clip shorter than the ad
    plays forwards and back (ping-pong), one frame is held, none gives ``fallback``."""

    def __init__(self, clip_frames: np.ndarray | None, fps: float, size, dim: float, fallback):
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
            self._scaler = _Scaler(clip_frames[:: self.stride], size, dim)

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
    """An ffmpeg process turning RGB clip frames into covering, dimmed yuv420p planes."""

    def __init__(self, frames: np.ndarray, size: tuple[int, int], dim: float):
        height, width = frames.shape[1:3]
        ratio = max(size[0] / width, size[1] / height)
        crop_w, crop_h = min(width, round(size[0] / ratio)), min(height, round(size[1] / ratio))
        keep = 1 - dim
        filters = (
            f"crop={crop_w}:{crop_h},scale={size[0]}:{size[1]}:flags=bilinear,format=yuv420p,"
            f"lutyuv=y=16+(val-16)*{keep:.4f}:u=128+(val-128)*{keep:.4f}:v=128+(val-128)*{keep:.4f}"
        )
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-i", "-",
            "-vf", filters, "-f", "rawvideo", "-pix_fmt", "yuv420p", "-",
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


def _ping_pong(index: int, count: int) -> int:
    if count <= 1:
        return 0
    period = 2 * (count - 1)
    position = index % period
    return position if position < count else period - position
