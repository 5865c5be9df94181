"""Render requests for the tiny model, shared by the engine and upscale tests."""

from __future__ import annotations

from PIL import Image

from generation.engine import RenderRequest


def tiny_request(name: str, seed: int, color: tuple[int, int, int], **extra) -> RenderRequest:
    """A tiny-model render request; ``extra`` sets further fields (e.g. ``upscale``)."""
    return RenderRequest(
        request_hash=name,
        image=Image.new("RGB", (96, 160), color),
        prompt=f"a {name}",
        negative_prompt="blurry",
        seed=seed,
        width=96,
        height=160,
        num_frames=9,
        steps=2,
        guidance=3.0,
        max_sequence_length=64,
        **extra,
    )
