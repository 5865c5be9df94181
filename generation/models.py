"""Model loading: one function for the built-in tiny model, a local directory or a hub id.

The pipeline class comes from the model's ``model_index.json`` (``DiffusionPipeline``
dispatches on it). Pipelines are loaded once per process and kept.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from diffusers import DiffusionPipeline

from generation.quiet import quiet_hub_output
from generation.tiny_model import TINY_MODEL_NAME, ensure_tiny_model
from storage.errors import ConfigError

log = logging.getLogger(__name__)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_loaded: dict[tuple[str, str], DiffusionPipeline] = {}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_model_source(model: str, home: Path) -> str:
    """A directory path or hub id that ``from_pretrained`` accepts, or a ConfigError."""
    if model == TINY_MODEL_NAME:
        return str(ensure_tiny_model(home))
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise ConfigError(
                "ADREEL_MODEL", f"{path} has no model_index.json: not a diffusers pipeline"
            )
        return str(path)
    if _HUB_ID.match(model) and not model.startswith((".", "~")):
        return model
    raise ConfigError(
        "ADREEL_MODEL",
        f"model directory {model!r} does not exist (use {TINY_MODEL_NAME}, a directory "
        "holding model_index.json, or a hub id such as Lightricks/LTX-Video)",
    )


def load_pipeline(model: str, home: Path, device: str = "auto") -> DiffusionPipeline:
    """Load the pipeline once per process: bf16 on CUDA, float32 on CPU."""
    target = resolve_device(device)
    key = (model, str(target))
    if key in _loaded:
        return _loaded[key]
    source = resolve_model_source(model, home)
    quiet_hub_output()
    dtype = torch.bfloat16 if target.type == "cuda" else torch.float32
    log.info("loading model %s on %s (%s)", source, target, dtype)
    try:
        pipe = DiffusionPipeline.from_pretrained(source, dtype=dtype)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ConfigError("ADREEL_MODEL", f"cannot load {model!r}: {reason}") from exc
    pipe.to(target)
    pipe.set_progress_bar_config(disable=True)
    _loaded[key] = pipe
    return pipe
