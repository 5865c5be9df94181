"""The batch engine: requests that share a shape run together in one pipeline call.

Each request brings its own seeded ``torch.Generator``, so its frames do not depend
on which other requests share its batch. A request whose profile has an upscale stage
gets a second pass through the family's latent upsampler, in the same batch.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np
import torch

from generation.adapters import adapter_for
from generation.clips import RenderedClip, RenderRequest
from generation.models import upsampler_for

__all__ = ["BatchEngine", "RenderRequest", "RenderedClip", "engine_for", "render_requests"]
log = logging.getLogger(__name__)


class BatchEngine:
    """Runs requests in batches, halving a batch that runs out of GPU memory.

    The largest batch that fit is remembered per bucket, so later batches of that shape
    start there; a request is never dropped (a single request that does not fit fails).
    """

    def __init__(self, pipe, max_batch: int, adapter: ModuleType | None = None) -> None:
        self.pipe = pipe
        self.max_batch = max_batch
        self.fitting: dict[tuple, int] = {}
        self.adapter = adapter or adapter_for(pipe)

    def render(
        self, requests: Sequence[RenderRequest], on_batch_done: Callable[[int], None] | None = None
    ) -> list[RenderedClip]:
        """Render every request, batching those with the same bucket key; keep input order."""
        buckets: dict[tuple, list[RenderRequest]] = defaultdict(list)
        for request in requests:
            buckets[request.bucket_key].append(request)
        rendered: dict[str, RenderedClip] = {}
        for key, bucket in buckets.items():
            waiting = list(bucket)
            while waiting:
                size = min(self.fitting.get(key, self.max_batch), len(waiting))
                try:
                    clips = self._render_batch(waiting[:size])
                except torch.cuda.OutOfMemoryError:
                    if size == 1:
                        raise
                    self.fitting[key] = size // 2
                    log.warning("out of GPU memory at batch %d; retrying at %d", size, size // 2)
                    if torch.cuda.is_available():
                        torch.cuda.empty_cache()
                    continue
                for clip in clips:
                    rendered[clip.request_hash] = clip
                waiting = waiting[size:]
                if on_batch_done:
                    on_batch_done(size)
        return [rendered[request.request_hash] for request in requests]

    def _render_batch(self, batch: Sequence[RenderRequest]) -> list[RenderedClip]:
        # 1. check the shape against the model family's rules
        first = batch[0]
        self.adapter.check_inputs(first.width, first.height, first.num_frames)
        # 2. one seeded generator per request: its frames do not depend on its neighbours
        device = "cpu" if self.pipe.device.type == "mps" else self.pipe.device
        generators = [torch.Generator(device=device).manual_seed(r.seed) for r in batch]
        # 3. one pipeline call for the batch
        log.info("rendering %d requests at %dx%d", len(batch), first.width, first.height)
        kwargs = self.adapter.call_kwargs(batch, generators)
        if first.upscale is None:
            frames = self.pipe(**kwargs).frames
        else:
            # 4. the upscale stage: latents of the same call, upsampled, then decoded
            upsampler = upsampler_for(self.pipe, first.upscale)
            latents = self.pipe(**{**kwargs, "output_type": "latent"}).frames
            frames = self.adapter.upscale(self.pipe, upsampler, latents, batch, generators)
        # 5. split per request, as 8-bit frames
        frames = (np.clip(frames, 0.0, 1.0) * 255).round().astype(np.uint8)
        return [RenderedClip(request.request_hash, frames[i]) for i, request in enumerate(batch)]


_engines: dict[int, BatchEngine] = {}


def engine_for(pipe, max_batch: int) -> BatchEngine:
    """One engine per loaded pipeline, so what fit in memory is remembered across calls."""
    engine = _engines.get(id(pipe))
    if engine is None or engine.max_batch != max_batch:
        engine = _engines[id(pipe)] = BatchEngine(pipe, max_batch)
    return engine


def render_requests(
    pipe,
    requests: Sequence[RenderRequest],
    max_batch: int,
    on_batch_done: Callable[[int], None] | None = None,
) -> list[RenderedClip]:
    return engine_for(pipe, max_batch).render(requests, on_batch_done)
