"""Render profiles (preview, final) read from ``profiles.yaml``.

A profile may end in an ``upscale`` stage (``{model: ..., factor: 2}``): the clip is
generated at the profile's size and a latent upsampler of the model's family brings it
to ``factor`` times that (LTX-Video's spatial upsampler doubles width and height).

A profile may name the model that renders its stage (``preview: {model: builtin:motion}``):
the job is then that model's, with that model's profile of the same name, overridden by
any other keys given beside ``model``. So previews can be instant on a CPU while finals
use the GPU model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class UpscaleStage:
    model: str  # builtin:tiny-upsampler, a directory or a hub id
    factor: int  # width and height of the clip are multiplied by this


@dataclass(frozen=True)
class RenderProfile:
    name: str
    width: int
    height: int
    num_frames: int
    steps: int
    guidance: float
    clip_fps: int
    max_sequence_length: int
    output_long_side: int
    upscale: UpscaleStage | None = None

    def as_dict(self) -> dict:
        # Without an upscale stage the dict (and so every job hash) is as it always was.
        values = asdict(self)
        if self.upscale is None:
            del values["upscale"]
        return values


@cache
def _profiles() -> dict:
    return yaml.safe_load(resources.files("generation").joinpath("profiles.yaml").read_text())


def render_profile(model: str, name: str) -> RenderProfile:
    """The profile ``name`` of ``model`` itself (see ``stage`` for the model it names)."""
    table = _profiles_of(model)
    if name not in table:
        raise ValueError(f"unknown render profile {name!r}; choose one of {sorted(table)}")
    values = dict(table[name])
    named = values.pop("model", None)
    if named is not None and named != model:
        values = {**_profiles_of(named).get(name, {}), **values}
        values.pop("model", None)
    upscale = values.pop("upscale", None)
    return RenderProfile(name=name, upscale=UpscaleStage(**upscale) if upscale else None, **values)


def stage(model: str, name: str) -> tuple[str, RenderProfile]:
    """The model that renders the stage ``name`` when ``model`` is configured, and its
    profile: the model the profile names, else ``model``."""
    named = _profiles_of(model).get(name, {}).get("model", model)
    return named, render_profile(model, name)


def stage_models(model: str) -> dict[str, str]:
    """Every model that rendering with ``model`` may load, each with where it is named
    (for a one-line error): ``model`` itself and those its profiles name."""
    models = {model: "ADREEL_MODEL"}
    for name, values in _profiles_of(model).items():
        named = values.get("model", model)
        models.setdefault(named, f"profiles.yaml: {model} {name} model")
    return models


def upscale_stages(model: str) -> dict[str, UpscaleStage]:
    """The upscale stage of each profile the model renders itself that has one, by name."""
    profiles = [render_profile(model, name) for name in _profiles_of(model)]
    return {
        profile.name: profile.upscale
        for profile in profiles
        if profile.upscale and stage(model, profile.name)[0] == model
    }


def _profiles_of(model: str) -> dict:
    return _profiles().get(model, _profiles()["default"])
