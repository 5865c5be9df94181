"""LTX-Video image-to-video (Lightricks/LTX-Video): the default model on a GPU.

Its VAE compresses 32x in space and 8x in time, so width and height must be multiples
of 32 and the frame count 8k+1. Inputs that break these are refused, not rounded.

Its latent upsampler (``LTXLatentUpsamplePipeline``) doubles width and height: the final
profile's upscale stage takes the generation pass's latents, upsamples and decodes them.
LTX's own multi-scale recipe then refines the upsampled latents with a few denoising
steps through ``LTXConditionPipeline``; the image-to-video pipeline cannot start from
partly noised latents, so adreel decodes the upsampled latents directly.
"""

from __future__ import annotations

import numpy as np

from generation.adapters.batch_call import batch_kwargs

FAMILY = "LTX-Video"
PIPELINES = ("LTXImageToVideoPipeline",)
UPSAMPLERS = ("LTXLatentUpsamplePipeline",)
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


def upscale_factor(upsampler) -> int:
    """How many times wider and taller the upsampler makes a clip (its model is 2x)."""
    config = upsampler.latent_upsampler.config
    return 2 if config.spatial_upsample else 1


def upscale(pipe, upsampler, packed_latents, batch, generators) -> np.ndarray:
    """Frames (batch, frames, height, width, 3) in [0, 1] at the upsampled size."""
    # 1. the pipeline returns latents packed as tokens; the upsampler takes (B, C, F, H, W)
    first = batch[0]
    latents = pipe._unpack_latents(
        packed_latents,
        (first.num_frames - 1) // pipe.vae_temporal_compression_ratio + 1,
        first.height // pipe.vae_spatial_compression_ratio,
        first.width // pipe.vae_spatial_compression_ratio,
        pipe.transformer_spatial_patch_size,
        pipe.transformer_temporal_patch_size,
    )
    # 2. upsample and decode with the pipeline's own VAE (shared at load)
    factor = upscale_factor(upsampler)
    output = upsampler(
        latents=latents,
        width=first.width * factor,
        height=first.height * factor,
        generator=generators,
        output_type="np",
    )
    return output.frames
