"""bench motion: builtin:motion, a batch of 8 clips of 6 s at 720x1280 and 30 fps from a
product photo (white backdrop, cut out).

Baseline, in the same run: ffmpeg's ``zoompan`` Ken Burns of the same photo at the same
size and length, one per clip, its frames thrown away (``-f null``), as ours are kept in
memory unencoded. Both run once untimed first: this machine's VM backs fresh memory
slowly the first time a process touches it (about 1.5 ms per MB), which is the host's
cost, not the renderer's; ``cold_seconds`` is that first run. Then ``--rounds`` rounds
alternate the two (our batch, then the baseline's eight clips), so both see the same load
from whatever else runs on the machine; each figure is the median over the rounds.
Real-time factor: seconds of work per second of clip.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import click
import imageio_ffmpeg

from generation.clips import RenderRequest
from generation.motion import MotionEngine
from tests.helpers.motion import as_jpeg, product_photo


@click.command()
@click.option("--clips", default=8, show_default=True, help="Clips in the batch.")
@click.option("--seconds", "clip_s", default=6, show_default=True)
@click.option("--fps", default=30, show_default=True)
@click.option("--rounds", default=3, show_default=True, help="Alternated timed rounds.")
def main(clips: int, clip_s: int, fps: int, rounds: int) -> dict:
    width, height, frames = 720, 1280, clip_s * fps
    photo = as_jpeg(product_photo())
    requests = [
        RenderRequest(f"bench-{i}", photo, "", "", 1000 + i, width, height, frames, 0, 0.0, fps=fps)
        for i in range(clips)
    ]
    engine = MotionEngine()
    cold = _timed(lambda: engine.render(requests, max_batch=clips))
    ours, cpu, baseline, baseline_cpu = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="adreel-bench-motion-") as scratch:
        still = Path(scratch) / "photo.jpg"
        photo.save(still)
        _zoompan(still, width, height, frames, fps)  # untimed, as ours
        for _ in range(max(1, rounds)):
            started, cpu_started = time.perf_counter(), time.process_time()
            rendered = engine.render(requests, max_batch=clips)
            ours.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            assert len(rendered) == clips
            assert rendered[0].frames.shape == (frames, height, width, 3)
            del rendered
            children = _children_cpu()
            baseline.append(
                _timed(lambda: [_zoompan(still, width, height, frames, fps) for _ in requests])
            )
            baseline_cpu.append(_children_cpu() - children)
    seconds, cpu_seconds = statistics.median(ours), statistics.median(cpu)
    baseline_s = statistics.median(baseline)
    video_s = clips * clip_s
    return {
        "seconds": round(seconds, 3),
        "baseline_seconds": round(baseline_s, 3),
        "throughput": round(clips * frames / seconds, 1),
        "unit": "frames/s",
        "extra": {
            "clips": clips,
            "size": f"{width}x{height}",
            "frames_per_clip": frames,
            "real_time_factor": round(seconds / video_s, 4),
            "cpu_real_time_factor": round(cpu_seconds / video_s, 4),
            "baseline_real_time_factor": round(baseline_s / video_s, 4),
            "baseline_cpu_real_time_factor": round(statistics.median(baseline_cpu) / video_s, 4),
            "round_ratios": [round(a / b, 2) for a, b in zip(ours, baseline, strict=True)],
            "cold_seconds": round(cold, 3),
            "seconds_per_clip": round(seconds / clips, 3),
            "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
    }


def _children_cpu() -> float:
    times = os.times()
    return times.children_user + times.children_system


def _timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _zoompan(still: Path, width: int, height: int, frames: int, fps: int) -> None:
    """A push-in from 1.0 to 1.15 over the clip, centred: the classic Ken Burns."""
    step = 0.15 / frames
    zoom = (
        f"scale={width}:{height}:force_original_aspect_ratio=increase,crop={width}:{height},"
        f"zoompan=z='min(zoom+{step:.6f},1.15)':x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)'"
        f":d={frames}:s={width}x{height}:fps={fps}"
    )
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
        "-i", str(still), "-vf", zoom, "-frames:v", str(frames), "-f", "null", "-",
    ]  # fmt: skip
    subprocess.run(command, check=True)
