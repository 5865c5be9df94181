"""Model loading: one function for the built-in tiny model, a local directory or a hub id.

The pipeline class comes from the model's ``model_index.json`` (``DiffusionPipeline``
dispatches on it). Pipelines are loaded once per process and kept, with the latent
upsamplers their profiles' upscale stages name, so a worker loads every weight at start
and a missing one fails there, in one line.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from types import ModuleType

import torch
from diffusers import DiffusionPipeline

from generation.adapters import adapter_for
from generation.profiles import UpscaleStage, upscale_stages
from generation.quiet import quiet_hub_output
from generation.runtime import apply_runtime_options, runtime_options
from generation.tiny_model import (
    TINY_MODEL_NAME,
    TINY_UPSAMPLER_NAME,
    ensure_tiny_model,
    ensure_tiny_upsampler,
)
from storage.errors import ConfigError
from storage.settings import get_settings

log = logging.getLogger(__name__)
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_loaded: dict[tuple[str, str], DiffusionPipeline] = {}
_upsamplers: dict[tuple[int, str], DiffusionPipeline] = {}  # (id of its pipeline, name)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_model_source(model: str, home: Path, setting: str = "ADREEL_MODEL") -> str:
    """A directory path or hub id that ``from_pretrained`` accepts, or a ConfigError
    naming ``setting`` (the environment variable, or the profile that names a model)."""
    if model == TINY_MODEL_NAME:
        return str(ensure_tiny_model(home))
    if model == TINY_UPSAMPLER_NAME:
        return str(ensure_tiny_upsampler(home))
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise ConfigError(setting, f"{path} has no model_index.json: not a diffusers pipeline")
        return str(path)
    if _HUB_ID.match(model) and not model.startswith((".", "~")):
        return model
    raise ConfigError(
        setting,
        f"model directory {model!r} does not exist (use builtin:motion, {TINY_MODEL_NAME}, "
        "a directory holding model_index.json, or a hub id such as Lightricks/LTX-Video)",
    )


def load_pipeline(
    model: str, home: Path, device: str = "auto", compile_transformer: bool | None = None
) -> DiffusionPipeline:
    """Load the pipeline and its upsamplers once per process, run as ``runtime_options``
    decides for the device (``compile_transformer``: unset, ADREEL_TORCH_COMPILE)."""
    target = resolve_device(device)
    key = (model, str(target))
    if key in _loaded:
        return _loaded[key]
    source = resolve_model_source(model, home)
    quiet_hub_output()
    if compile_transformer is None:
        compile_transformer = get_settings().torch_compile
    options = runtime_options(target, compile_transformer)
    log.info("loading model %s on %s (%s)", source, target, options)
    pipe = _from_pretrained(source, model, "ADREEL_MODEL", dtype=options.dtype)
    pipe.to(target)
    pipe.set_progress_bar_config(disable=True)
    apply_runtime_options(pipe, options)
    load_upsamplers(pipe, upscale_stages(model), home, f"profiles.yaml: {model}")
    _loaded[key] = pipe
    return pipe


def load_upsamplers(
    pipe: DiffusionPipeline, stages: dict[str, UpscaleStage], home: Path, where: str
) -> None:
    """Load each upsampler the profiles name, sharing the pipeline's VAE (and so its
    dtype, device and tiling); refuse one the model's family cannot use."""
    adapter = adapter_for(pipe)
    for profile_name, stage in stages.items():
        setting = f"{where} {profile_name} upscale"
        check_upscale_family(adapter, setting)
        upsampler = _upsamplers.get((id(pipe), stage.model))
        if upsampler is None:
            source = resolve_model_source(stage.model, home, setting)
            upsampler = _from_pretrained(
                source, stage.model, setting, vae=pipe.vae, dtype=pipe.dtype
            )
            upsampler.to(pipe.device)
            upsampler.set_progress_bar_config(disable=True)
        if type(upsampler).__name__ not in adapter.UPSAMPLERS:
            raise ConfigError(
                setting,
                f"{stage.model!r} is a {type(upsampler).__name__}; {adapter.FAMILY} "
                f"upscales with {', '.join(adapter.UPSAMPLERS)}",
            )
        factor = adapter.upscale_factor(upsampler)
        if factor != stage.factor:
            raise ConfigError(
                setting, f"factor {stage.factor}, but {stage.model!r} upscales by {factor}"
            )
        _upsamplers[(id(pipe), stage.model)] = upsampler


def check_upscale_family(adapter: ModuleType, setting: str) -> None:
    if not adapter.UPSAMPLERS:
        raise ConfigError(
            setting,
            f"{adapter.FAMILY} has no latent upsampler in diffusers; remove the upscale stage",
        )


def upsampler_for(pipe: DiffusionPipeline, model: str) -> DiffusionPipeline:
    """The upsampler loaded with ``pipe`` under the name its profile gives."""
    try:
        return _upsamplers[(id(pipe), model)]
    except KeyError:
        raise ValueError(
            f"upsampler {model!r} was not loaded with this model: name it in an upscale "
            "stage of the model's profiles in profiles.yaml"
        ) from None


def _from_pretrained(source: str, name: str, setting: str, **kwargs) -> DiffusionPipeline:
    try:
        return DiffusionPipeline.from_pretrained(source, **kwargs)
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ConfigError(setting, f"cannot load {name!r}: {reason}") from exc
