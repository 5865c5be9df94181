"""CogVideoX image-to-video (THUDM/CogVideoX-5b-I2V).

Its VAE compresses 8x in space (with 2x2 patches: multiples of 16) and 4x in time; the
released weights are trained on 49 frames (8k+1) at 720x480, so other lengths are refused.
"""

from __future__ import annotations

from generation.adapters.batch_call import batch_kwargs

FAMILY = "CogVideoX"
UPSAMPLERS: tuple[str, ...] = ()  # none in diffusers
PIPELINES = ("CogVideoXImageToVideoPipeline",)
SPATIAL, TEMPORAL = 16, 8


def check_inputs(width: int, height: int, num_frames: int) -> None:
    if width % SPATIAL or height % SPATIAL:
        raise ValueError(
            f"CogVideoX needs width and height divisible by {SPATIAL}; got {width}x{height}"
        )
    if num_frames < 1 or (num_frames - 1) % TEMPORAL:
        raise ValueError(
            f"CogVideoX needs 8k+1 frames (49 for the released weights); got {num_frames}"
        )


def call_kwargs(batch, generators) -> dict:
    return batch_kwargs(batch, generators, max_text_tokens=226)
