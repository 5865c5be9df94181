"""bench generate: the batch engine on CPU with the tiny model.

32 requests at batch sizes 1, 2, 4, 8 and 16: throughput for each and the speed-up of
batch 8 over batch 1. Baseline, in the same run: the same 32 requests through the
pipeline called directly at batch 8 (same kwargs, same generators), alternated with the
engine and best of three each, so the ratio is the engine's own overhead.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import click
import torch
from PIL import Image

from generation.adapters import ltx
from generation.engine import BatchEngine, RenderRequest
from generation.models import load_pipeline
from generation.profiles import render_profile
from generation.tiny_model import TINY_MODEL_NAME

SIZES = (1, 2, 4, 8, 16)


@click.command()
@click.option("--requests", "count", default=32, show_default=True)
def main(count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="adreel-bench-") as home:
        pipe = load_pipeline(TINY_MODEL_NAME, Path(home), "cpu")
        profile = render_profile(TINY_MODEL_NAME, "preview")
        requests = [_request(n, profile) for n in range(count)]
        BatchEngine(pipe, 2).render(requests[:2])  # warm-up: first-call costs out of the way
        per_size = {
            size: _timed(lambda s=size: BatchEngine(pipe, s).render(requests)) for size in SIZES
        }
        # Engine and direct call at batch 8, alternated, best of three each: the ratio
        # should show the engine's overhead, not the machine's drift.
        engine_runs, direct_runs = [per_size[8]], []
        for _ in range(3):
            direct_runs.append(_timed(lambda: _direct(pipe, requests, 8)))
            engine_runs.append(_timed(lambda: BatchEngine(pipe, 8).render(requests)))
        engine8, direct = min(engine_runs), min(direct_runs)
    return {
        "seconds": round(engine8, 3),
        "baseline_seconds": round(direct, 3),
        "throughput": round(count / engine8, 2),
        "unit": "clips/s",
        "extra": {
            "requests": count,
            "profile": f"{profile.width}x{profile.height}x{profile.num_frames}, "
            f"{profile.steps} steps",
            **{f"clips_per_s_batch{size}": round(count / s, 2) for size, s in per_size.items()},
            "speedup_batch8_vs_batch1": round(per_size[1] / engine8, 2),
            "engine_overhead_pct": round((engine8 / direct - 1) * 100, 1),
            "torch_threads": torch.get_num_threads(),
        },
    }


def _request(n: int, profile) -> RenderRequest:
    image = Image.new("RGB", (profile.width, profile.height), (n * 7 % 255, 80, 160))
    return RenderRequest(
        request_hash=f"bench-{n}",
        image=image,
        prompt=f"product showcase {n}",
        negative_prompt="blurry",
        seed=n,
        width=profile.width,
        height=profile.height,
        num_frames=profile.num_frames,
        steps=profile.steps,
        guidance=profile.guidance,
        max_sequence_length=profile.max_sequence_length,
    )


def _direct(pipe, requests, size: int) -> None:
    for start in range(0, len(requests), size):
        batch = requests[start : start + size]
        generators = [torch.Generator().manual_seed(r.seed) for r in batch]
        pipe(**ltx.call_kwargs(batch, generators))


def _timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started
