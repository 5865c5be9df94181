"""Wan 2.x image-to-video (e.g. Wan-AI/Wan2.1-I2V-14B-480P-Diffusers).

Its VAE compresses 8x in space (with 2x2 patches: multiples of 16) and 4x in time, so
the frame count is 4k+1 (81 at 16 fps is its native length).
"""

from __future__ import annotations

from generation.adapters.batch_call import batch_kwargs

FAMILY = "Wan"
UPSAMPLERS: tuple[str, ...] = ()  # none in diffusers
PIPELINES = ("WanImageToVideoPipeline",)
SPATIAL, TEMPORAL = 16, 4


def check_inputs(width: int, height: int, num_frames: int) -> None:
    if width % SPATIAL or height % SPATIAL:
        raise ValueError(f"Wan needs width and height divisible by {SPATIAL}; got {width}x{height}")
    if num_frames < 1 or (num_frames - 1) % TEMPORAL:
        raise ValueError(f"Wan needs 4k+1 frames; got {num_frames}")


def call_kwargs(batch, generators) -> dict:
    return batch_kwargs(batch, generators, max_text_tokens=512)
