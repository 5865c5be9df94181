"""LTX-Video image-to-video (Lightricks/LTX-Video): the default model on a GPU.

Its VAE compresses 32x in space and 8x in time, so width and height must be multiples
of 32 and the frame count 8k+1. Inputs that break these are refused, not rounded.
"""

from __future__ import annotations

from generation.adapters.batch_call import batch_kwargs

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
    # The profile's max_sequence_length is used as is (the T5 encoder takes any length).
    return batch_kwargs(batch, generators, max_text_tokens=batch[0].max_sequence_length)
