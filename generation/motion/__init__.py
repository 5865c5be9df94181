"""``builtin:motion``: the non-neural image-to-video tier, instant on a CPU.

It animates the product photo itself (``clip.render_clip``): cut out (``cutout``), set in
a backdrop from its own colours (``scene``) and filmed with an eased camera move
(``camera``). It takes the diffusers engine's requests and gives its clips, so the rest
of adreel cannot tell the tiers apart; it never imports torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from generation.clips import RenderedClip, RenderRequest
from generation.motion.clip import render_clip

MOTION_MODEL_NAME = "builtin:motion"
log = logging.getLogger(__name__)


class MotionEngine:
    """Renders each request on its own: there is nothing to batch on a CPU, and a
    request's frames depend only on itself (its seed and images)."""

    def render(
        self,
        requests: Sequence[RenderRequest],
        max_batch: int,
        on_batch_done: Callable[[int], None] | None = None,
    ) -> list[RenderedClip]:
        clips = []
        for request in requests:
            log.info(
                "motion clip %s at %dx%d", request.request_hash[:12], request.width, request.height
            )
            frames, notes = render_clip(request)
            clips.append(RenderedClip(request.request_hash, frames, notes))
            if on_batch_done:
                on_batch_done(1)
        return clips
