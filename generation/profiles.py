"""Render profiles (preview, final) read from ``profiles.yaml``."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources

import yaml


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

    def as_dict(self) -> dict:
        return asdict(self)


@cache
def _profiles() -> dict:
    return yaml.safe_load(resources.files("generation").joinpath("profiles.yaml").read_text())


FORMATS = {"9x16": (9, 16), "1x1": (1, 1), "16x9": (16, 9)}


def output_size(profile: RenderProfile, ad_format: str) -> tuple[int, int]:
    """The finished ad's pixel size for a format such as ``9x16``, even on both sides."""
    if ad_format not in FORMATS:
        raise ValueError(f"unknown format {ad_format!r}; choose one of {sorted(FORMATS)}")
    w, h = FORMATS[ad_format]
    long_side = profile.output_long_side
    if w >= h:
        return long_side, round(long_side * h / w / 2) * 2
    return round(long_side * w / h / 2) * 2, long_side


def render_profile(model: str, name: str) -> RenderProfile:
    table = _profiles().get(model, _profiles()["default"])
    if name not in table:
        raise ValueError(f"unknown render profile {name!r}; choose one of {sorted(table)}")
    return RenderProfile(name=name, **table[name])
