"""CogVideoX image-to-video (THUDM/CogVideoX-5b-I2V).

Its VAE compresses 8x in space (with 2x2 patches: multiples of 16) and 4x in time; the
released weights are trained on 49 frames (8k+1) at 720x480, so other lengths are refused.
"""

from __future__ import annotations

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
        "max_sequence_length": min(first.max_sequence_length, 226),
        "output_type": "np",
    }
