"""What every clip model takes and gives back: render requests in, clips out.

Kept apart from the diffusers engine so that the motion tier, and anything that only
reads clips, never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class RenderRequest:
    request_hash: str
    image: Image.Image
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    num_frames: int
    steps: int
    guidance: float
    max_sequence_length: int = 128
    upscale: str | None = None  # the upsampler of the profile's upscale stage, if any
    fps: int = 24  # the profile's clip rate: the motion tier paces its moves by it
    template: str = ""  # the ad's template: the motion tier's camera preset follows it
    # The product's further images (the motion tier gives each a scene, up to 3 in all).
    extra_images: tuple[Image.Image, ...] = ()
    # The motion tier spreads its scenes over the first this many frames: the ad's body,
    # before the end card covers the clip (0: the whole clip).
    scene_frames: int = 0
    # The merchant's brand kit colour, when it has a kit: the motion tier's set leans to it.
    brand_colour: tuple[int, int, int] | None = None

    @property
    def bucket_key(self) -> tuple:
        return (
            self.width,
            self.height,
            self.num_frames,
            self.steps,
            self.guidance,
            self.max_sequence_length,
            self.upscale,
        )


@dataclass(frozen=True)
class RenderedClip:
    request_hash: str
    frames: np.ndarray  # (frames, height, width, 3), uint8
    notes: tuple[str, ...] = ()  # what the render had to work around, for the job's warning
