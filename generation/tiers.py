"""Which clip model renders a job, and loading it: the one place the tiers meet.

``builtin:motion`` (``generation.motion``) animates the product photo on a CPU; every
other name is a diffusers pipeline (``generation.models``), loaded only when a job or a
worker needs it, so a process that renders only motion never imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from generation.clips import RenderedClip, RenderRequest
from generation.motion import MOTION_MODEL_NAME, MotionEngine
from generation.profiles import stage_models


class Renderer(Protocol):
    def render(
        self,
        requests: Sequence[RenderRequest],
        max_batch: int,
        on_batch_done: Callable[[int], None] | None = None,
    ) -> list[RenderedClip]: ...


class DiffusersRenderer:
    """A loaded diffusers pipeline behind the batch engine."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe

    def render(self, requests, max_batch, on_batch_done=None) -> list[RenderedClip]:
        from generation.engine import render_requests

        return render_requests(self.pipe, requests, max_batch, on_batch_done)


def load_renderer(model: str, home: Path, device: str = "auto") -> Renderer:
    if model == MOTION_MODEL_NAME:
        return MotionEngine()
    from generation.models import load_pipeline

    return DiffusersRenderer(load_pipeline(model, home, device))


def check_models(model: str, home: Path, device: str = "auto", load: bool = False) -> None:
    """Check (``load``: load) the configured model and every model its profiles name, so
    a bad name fails at start in one line (a ConfigError naming where it was set)."""
    for named, setting in stage_models(model).items():
        if named == MOTION_MODEL_NAME:
            continue
        from generation.models import load_pipeline, resolve_model_source

        resolve_model_source(named, home, setting)
        if load:
            load_pipeline(named, home, device)
