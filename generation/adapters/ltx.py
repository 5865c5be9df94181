"""LTX-Video image-to-video (Lightricks/LTX-Video): the default model on a GPU.

Its VAE compresses 32x in space and 8x in time, so width and height must be multiples
of 32 and the frame count 8k+1. Inputs that break these are refused, not rounded.
"""

from __future__ import annotations

PIPELINES = ("LTXImageToVideoPipeline",)
SPATIAL, TEMPORAL = 32, 8


def check_inputs(width: int, height: int, num_frames: int) -> None:
    if width % SPATIAL or height % SPATIAL:
        raise ValueError(
            f"LTX-Video needs width and height divisible by {SPATIAL}; got {width}x{height} "
            f"(nearest: {round(width / SPATIAL) * SPATIAL}x{round(height / SPATIAL) * SPATIAL})"
        )
    if num_frames < 1 or (num_frames - 1) % TEMPORAL:
        nearest = round((num_frames - 1) / TEMPORAL) * TEMPORAL + 1
        raise ValueError(f"LTX-Video needs 8k+1 frames; got {num_frames} (nearest: {nearest})")


def call_kwargs(batch, generators) -> dict:
    """One pipeline call for a batch that shares width, height, frames, steps and guidance."""
    first = batch[0]
    return {
        "image": [request.image for request in batch],
        "prompt": [request.prompt for request in batch],
        "negative_prompt": [request.negative_prompt for request in batch],
        "generator": generators,
        "width": first.width,
        "height": first.height,
        "num_frames": first.num_frames,
        "num_inference_steps": first.steps,
        "guidance_scale": first.guidance,
        "max_sequence_length": first.max_sequence_length,
        "output_type": "np",
    }
