"""The batch engine: requests that share a shape run together in one pipeline call.

Each request brings its own seeded ``torch.Generator``, so its frames do not depend
on which other requests share its batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderRequest:
    request_hash: str
    image: Image.Image
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    num_frames: int
    steps: int
    guidance: float
    max_sequence_length: int = 128

    @property
    def bucket_key(self) -> tuple:
        return (
            self.width,
            self.height,
            self.num_frames,
            self.steps,
            self.guidance,
            self.max_sequence_length,
        )


@dataclass(frozen=True)
class RenderedClip:
    request_hash: str
    frames: np.ndarray  # (frames, height, width, 3), uint8


def render_requests(
    pipe,
    requests: Sequence[RenderRequest],
    max_batch: int,
    on_batch_done: Callable[[int], None] | None = None,
) -> list[RenderedClip]:
    """Render every request, batching those with the same bucket key; keep input order."""
    buckets: dict[tuple, list[RenderRequest]] = defaultdict(list)
    for request in requests:
        buckets[request.bucket_key].append(request)
    rendered: dict[str, RenderedClip] = {}
    for bucket in buckets.values():
        for start in range(0, len(bucket), max_batch):
            batch = bucket[start : start + max_batch]
            for clip in _render_batch(pipe, batch):
                rendered[clip.request_hash] = clip
            if on_batch_done:
                on_batch_done(len(batch))
    return [rendered[request.request_hash] for request in requests]


def _render_batch(pipe, batch: Sequence[RenderRequest]) -> list[RenderedClip]:
    first = batch[0]
    log.info("rendering %d requests at %dx%d", len(batch), first.width, first.height)
    generator_device = "cpu" if pipe.device.type == "mps" else pipe.device
    output = pipe(
        image=[request.image.convert("RGB") for request in batch],
        prompt=[request.prompt for request in batch],
        negative_prompt=[request.negative_prompt for request in batch],
        generator=[
            torch.Generator(device=generator_device).manual_seed(request.seed) for request in batch
        ],
        width=first.width,
        height=first.height,
        num_frames=first.num_frames,
        num_inference_steps=first.steps,
        guidance_scale=first.guidance,
        max_sequence_length=first.max_sequence_length,
        output_type="np",
    )
    frames = (np.clip(output.frames, 0.0, 1.0) * 255).round().astype(np.uint8)
    return [RenderedClip(request.request_hash, frames[i]) for i, request in enumerate(batch)]
