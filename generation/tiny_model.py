"""The built-in tiny model: a real LTX-Video image-to-video pipeline, small enough for a CPU.

It has the same classes as the production LTX-Video pipeline (transformer, VAE, T5
encoder, tokenizer, scheduler), with a few channels and one layer each, so that tests
and the demo exercise the real diffusers code path. It is built deterministically in
code (nothing is downloaded), saved with ``save_pretrained`` and then loaded with
``from_pretrained`` like any other model directory.

Beside it, ``builtin:tiny-upsampler``: a real ``LTXLatentUpsamplePipeline`` with a
one-block ``LTXLatentUpsamplerModel`` for the tiny VAE's latents, so the final profile's
upscale pass runs through diffusers' own code on a CPU too.
"""

from __future__ import annotations

import logging
import os
import shutil
import string
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLLTXVideo,
    FlowMatchEulerDiscreteScheduler,
    LTXImageToVideoPipeline,
    LTXLatentUpsamplePipeline,
    LTXVideoTransformer3DModel,
)
from diffusers.pipelines.ltx.modeling_latent_upsampler import LTXLatentUpsamplerModel
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import T5Config, T5EncoderModel, T5TokenizerFast

from generation.quiet import quiet_hub_output

TINY_MODEL_NAME = "builtin:tiny"
# Bump when the recipe below changes, so old builds are not reused.
TINY_MODEL_VERSION = "ltx-tiny-v1"
TINY_UPSAMPLER_NAME = "builtin:tiny-upsampler"
TINY_UPSAMPLER_VERSION = "ltx-tiny-upsampler-v1"
LATENT_CHANNELS = 8
TEXT_DIM = 32
MAX_SEQUENCE_LENGTH = 256


def tiny_model_dir(home: Path) -> Path:
    return home / "models" / TINY_MODEL_VERSION


def ensure_tiny_model(home: Path) -> Path:
    """Build the tiny pipeline under ``home/models`` unless it is already there."""
    return _ensure_built(tiny_model_dir(home), build_tiny_pipeline)


def ensure_tiny_upsampler(home: Path) -> Path:
    """Build the tiny latent upsampler under ``home/models`` unless it is already there."""
    # Saved without a VAE on purpose; diffusers would warn that the VAE "cannot be saved".
    saver = logging.getLogger("diffusers.pipelines.pipeline_utils")
    level = saver.level
    saver.setLevel(logging.ERROR)
    try:
        return _ensure_built(home / "models" / TINY_UPSAMPLER_VERSION, build_tiny_upsampler)
    finally:
        saver.setLevel(level)


def _ensure_built(target: Path, build: Callable) -> Path:
    """The build goes to a temporary directory that is renamed into place, so two
    processes building at once (a CLI and a worker) never see half a model."""
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    quiet_hub_output()
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        build().save_pretrained(staging)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "model_index.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def build_tiny_pipeline() -> LTXImageToVideoPipeline:
    torch.manual_seed(0)
    transformer = LTXVideoTransformer3DModel(
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=TEXT_DIM,
        num_layers=1,
        caption_channels=TEXT_DIM,
    )
    torch.manual_seed(0)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=LATENT_CHANNELS,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=TEXT_DIM,
            d_kv=8,
            d_ff=64,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
        )
    )
    return LTXImageToVideoPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )


def build_tiny_upsampler() -> LTXLatentUpsamplePipeline:
    """No VAE of its own, like the released upsampler: it is given the model's at load."""
    torch.manual_seed(0)
    upsampler = LTXLatentUpsamplerModel(
        in_channels=LATENT_CHANNELS,
        mid_channels=32,  # the fewest its GroupNorm(32, ...) allows
        num_blocks_per_stage=1,
        dims=3,
        spatial_upsample=True,
        temporal_upsample=False,
    )
    return LTXLatentUpsamplePipeline(vae=None, latent_upsampler=upsampler)


def build_tiny_tokenizer() -> T5TokenizerFast:
    """A character-level Unigram tokenizer in T5's shape, made with `tokenizers`."""
    specials = ["<pad>", "</s>", "<unk>"]
    pieces = ["▁", *string.ascii_letters, *string.digits, *string.punctuation]
    vocab = [(token, 0.0) for token in specials] + [(piece, -1.0) for piece in pieces]
    backend = Tokenizer(models.Unigram(vocab, unk_id=2))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return T5TokenizerFast(
        tokenizer_object=backend,
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        extra_ids=0,
        model_max_length=MAX_SEQUENCE_LENGTH,
    )
