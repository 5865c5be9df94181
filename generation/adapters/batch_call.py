"""The arguments every supported image-to-video pipeline takes for a batch.

LTX-Video, Wan and CogVideoX name their inputs alike; they differ in the shapes they
accept (each family's ``check_inputs``) and in how many text tokens their encoder reads.
"""

from __future__ import annotations


def batch_kwargs(batch, generators, max_text_tokens: int) -> dict:
    """One call for a batch that shares width, height, frames, steps and guidance."""
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
        "max_sequence_length": min(first.max_sequence_length, max_text_tokens),
        "output_type": "np",
    }
