"""One adapter per pipeline family: its input rules and how a batch maps onto its call.

The pipeline class named in a model's ``model_index.json`` picks the adapter.
"""

from __future__ import annotations

from types import ModuleType

from generation.adapters import cogvideox, ltx, wan

FAMILIES: tuple[ModuleType, ...] = (ltx, wan, cogvideox)


def adapter_for(pipe: object) -> ModuleType:
    name = type(pipe).__name__
    for family in FAMILIES:
        if name in family.PIPELINES:
            return family
    supported = ", ".join(p for family in FAMILIES for p in family.PIPELINES)
    raise ValueError(f"no adapter for pipeline {name}; supported: {supported}")
