"""How a pipeline runs on its device: dtype, VAE tiling and ``torch.compile``, decided once.

The decision is a pure function of the device and the settings, so it is tested on a
machine without a GPU; ``apply_runtime_options`` then does what was decided.

- CUDA: bf16 (what LTX-Video, Wan and CogVideoX are released in); VAE tiling always
  on, because the VAE itself only tiles a frame larger than its tile (512 px for
  LTX-Video), so small frames decode exactly as without it while 1080p+ frames stop
  running out of memory in the decoder; ``torch.compile`` of the transformer only when
  ``ADREEL_TORCH_COMPILE`` asks, since each new shape (bucket) compiles for minutes
  before it pays back.
- CPU: float32 (bf16 matmuls are slow or missing on most CPUs), no tiling (it would
  only change the output of the tests' tiny model), and no compile: a request for it
  is ignored with a note that says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeOptions:
    dtype: torch.dtype
    vae_tiling: bool
    compile_transformer: bool
    notes: tuple[str, ...] = ()  # why something asked for is not done


def runtime_options(device: torch.device, compile_requested: bool = False) -> RuntimeOptions:
    """What to do on ``device``; ``compile_requested`` is ADREEL_TORCH_COMPILE."""
    if device.type == "cuda":
        return RuntimeOptions(
            torch.bfloat16, vae_tiling=True, compile_transformer=compile_requested
        )
    notes = ()
    if compile_requested:
        notes = (
            f"ADREEL_TORCH_COMPILE ignored on {device.type}: the transformer is compiled "
            "only on CUDA",
        )
    return RuntimeOptions(torch.float32, vae_tiling=False, compile_transformer=False, notes=notes)


def apply_runtime_options(pipe, options: RuntimeOptions) -> None:
    """Tile the VAE and compile the transformer as decided (the dtype is set at load)."""
    for note in options.notes:
        log.warning(note)
    if options.vae_tiling and hasattr(pipe.vae, "enable_tiling"):
        pipe.vae.enable_tiling()
    if options.compile_transformer:
        # In place, so the pipeline keeps its own module (and its config) as before.
        pipe.transformer.compile()
