"""Eased camera moves: what the camera does at each moment of a scene.

The product layer takes the whole move; the backdrop takes ``PARALLAX`` of it, so the
product seems to stand in front of a deeper set. The seed picks the direction and size
of a move, so two variants of one template move differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PARALLAX = 0.35
# One preset per template; a template not named here gets one picked by the seed.
TEMPLATE_PRESETS = {
    "showcase": "push_in",
    "sale": "pan",
    "carousel": "orbit",
    "feature": "float",
    "end_card": "push_in",
}
PRESETS = ("push_in", "pan", "float", "orbit")


@dataclass(frozen=True)
class Pose:
    zoom: float  # about the frame's centre
    dx: float  # pan, as a share of the frame's width
    dy: float  # as a share of the frame's height
    angle: float  # the product's tilt, degrees
    lift: float  # the product floating above the floor, share of the frame's height


class CameraPath:
    def __init__(self, preset: str, rng: np.random.Generator):
        self.preset = preset
        self.side = 1.0 if rng.random() < 0.5 else -1.0
        self.amount = float(rng.uniform(0.8, 1.2))
        self.phase = float(rng.uniform(0, 2 * np.pi))

    def at(self, t: float) -> Pose:
        """``t`` from 0 to 1 across the scene."""
        eased = t * t * (3 - 2 * t)
        swing = 2 * eased - 1  # -1 .. 1
        side, amount = self.side, self.amount
        bob = 0.006 * (1 - np.cos(2 * np.pi * t + self.phase)) / 2
        if self.preset == "push_in":
            return Pose(
                1 + 0.13 * amount * eased,
                0.015 * side * eased,
                -0.01 * eased,
                1.2 * side * eased,
                bob,
            )
        if self.preset == "pan":
            return Pose(1.06, 0.06 * amount * side * swing, 0.0, 1.0 * side * swing, bob)
        if self.preset == "float":
            lift = 0.022 * amount * (1 - np.cos(2 * np.pi * 1.5 * t + self.phase)) / 2
            return Pose(1 + 0.05 * eased, 0.0, 0.0, 2.0 * np.sin(2 * np.pi * t + self.phase), lift)
        return Pose(  # orbit: the product turns a little while the camera slides past it
            1.03 + 0.06 * eased, 0.04 * side * amount * swing, 0.0, -2.5 * side * swing, bob
        )


def preset_for(template: str, rng: np.random.Generator) -> str:
    return TEMPLATE_PRESETS.get(template) or PRESETS[int(rng.integers(len(PRESETS)))]
