"""bench render: the composer's showcase template, 15 s of 1080x1920 at 30 fps.

The clip is a smooth synthetic one at the default final profile's size (704x1216, 121
frames at 24 fps), like a generated clip in motion and compressibility. Baseline, in the
same run: the bundled ffmpeg encoding the same number of frames of a still image (the
ad's poster) with the same codec settings, so the ratio is what composing costs on top
of encoding. Real-time factor: render time / video duration.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import click
import imageio_ffmpeg
import numpy as np
from PIL import Image

from composer import AdRequest, BrandKit, ProductCopy, compose_ad, encode
from composer.formats import FPS


@click.command()
@click.option("--duration", default=15, show_default=True, help="Seconds of video.")
@click.option("--template", default="showcase", show_default=True)
@click.option("--format", "ad_format", default="9x16", show_default=True)
def main(duration: int, template: str, ad_format: str) -> dict:
    clip = smooth_clip()
    product = ProductCopy(
        "Aurora Trail Running Shoe, waterproof",
        Decimal("89.00"),
        "USD",
        description="Waterproof mesh upper. Grippy sole. Weighs 240 g.",
        image=_product_image(),
    )
    request = AdRequest(
        template,
        ad_format,
        (product,),
        duration_s=duration,
        platforms=("tiktok",) if ad_format == "9x16" else ("feed",),
        brand=BrandKit("Northpeak"),
        clip_frames=clip,
        clip_fps=24,
    )
    with tempfile.TemporaryDirectory(prefix="adreel-bench-render-") as scratch:
        started = time.perf_counter()
        ad = compose_ad(request, Path(scratch))
        seconds = time.perf_counter() - started
        baseline = _baseline(ad.poster_path, duration * FPS, Path(scratch) / "still.mp4")
    frames = duration * FPS
    return {
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline, 3),
        "throughput": round(frames / seconds, 1),
        "unit": "frames/s",
        "extra": {
            "template": template,
            "size": f"{ad.width}x{ad.height}",
            "frames": frames,
            "real_time_factor": round(seconds / duration, 3),
            "baseline_real_time_factor": round(baseline / duration, 3),
            "x264_preset": encode.PRESET,
            "threads": encode.threads(),
        },
    }


def smooth_clip(count: int = 121, width: int = 704, height: int = 1216) -> np.ndarray:
    """Colour fields drifting slowly: moves like a generated clip, compresses like one."""
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    frames = np.empty((count, height, width, 3), dtype=np.uint8)
    for index in range(count):
        phase = index / count * 2 * np.pi
        frames[index, ..., 0] = 128 + 90 * np.sin(3 * x + phase) * np.cos(2 * y)
        frames[index, ..., 1] = 110 + 70 * np.cos(4 * y - phase)
        frames[index, ..., 2] = 150 + 60 * np.sin(2 * (x + y) + phase / 2)
    return frames


def _product_image() -> Image.Image:
    image = Image.new("RGB", (1200, 1200), (235, 235, 240))
    pixels = np.asarray(image).copy()
    pixels[300:900, 200:1000] = (220, 90, 40)
    return Image.fromarray(pixels)


def _baseline(still: Path, frames: int, out: Path) -> float:
    """ffmpeg alone: a still image, the same frame count and codec settings."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-loop", "1", "-framerate", str(FPS), "-i", str(still), "-frames:v", str(frames),
        *encode.video_options(),
        str(out),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started
