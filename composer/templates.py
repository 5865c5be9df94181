"""Templates as data: ``templates.yaml`` describes each template's layers, timing, motion
and text slots; this module reads and checks it, and places its boxes for a format."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from composer.formats import FORMATS, Box

KINDS = ("clip", "fill", "image", "text", "logo")
SLOTS = ("title", "price", "old_price", "sale_price", "discount", "feature", "brand", "cta")
MOTIONS = (None, "fade", "wipe", "ken_burns")
REPEATS = (None, "products", "features")
_FIELDS = {
    "kind", "slot", "box", "box_no_image", "start", "end", "motion", "repeat", "size",
    "bold", "align", "strike", "color", "panel", "panel_opacity", "dim",
}  # fmt: skip


@dataclass(frozen=True)
class Layer:
    kind: str
    boxes: dict[str, tuple[float, float, float, float]]
    boxes_no_image: dict[str, tuple[float, float, float, float]] | None = None
    slot: str | None = None
    start: float = 0.0
    end: float = 1.0
    motion: str | None = None
    repeat: str | None = None
    size: int = 64
    bold: bool = False
    align: str = "center"
    strike: bool = False
    color: str = "text"
    panel: str | None = None
    panel_opacity: float = 1.0
    dim: float = 0.0

    def box(self, ad_format: str, area: Box, image_missing: bool = False) -> Box:
        """The layer's pixel box within ``area`` (the safe area: clip and fill layers
        cover the frame and have no box to place)."""
        boxes = self.boxes_no_image if image_missing and self.boxes_no_image else self.boxes
        return area.sub(boxes[ad_format])


@dataclass(frozen=True)
class Template:
    name: str
    about: str
    style: str
    min_products: int
    max_products: int
    needs_sale_price: bool
    layers: tuple[Layer, ...]


def template(name: str) -> Template:
    """A template by name, or one line listing the known ones."""
    known = templates()
    if name not in known:
        raise ValueError(f"unknown template {name!r}; known: {', '.join(known)}")
    return known[name]


@cache
def templates() -> dict[str, Template]:
    raw = _raw()
    return {
        name: Template(
            name=name,
            about=spec["about"],
            style=spec["style"],
            min_products=spec["products"][0],
            max_products=spec["products"][1],
            needs_sale_price=spec.get("needs_sale_price", False),
            layers=tuple(
                _layer(f"{name}.layers[{i}]", raw_layer)
                for i, raw_layer in enumerate(spec["layers"])
            ),
        )
        for name, spec in raw.items()
        if name != "end_card"
    }


@cache
def end_card() -> tuple[Layer, ...]:
    return tuple(
        _layer(f"end_card.layers[{i}]", r) for i, r in enumerate(_raw()["end_card"]["layers"])
    )


@cache
def _raw() -> dict:
    text = resources.files("composer").joinpath("templates.yaml").read_text()
    return yaml.safe_load(text)


def _layer(where: str, raw: dict) -> Layer:
    """Check one layer as written, naming the field that is wrong."""
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValueError(f"templates.yaml: {where}: unknown field {sorted(unknown)[0]!r}")
    for field, allowed in (("kind", KINDS), ("motion", MOTIONS), ("repeat", REPEATS)):
        if raw.get(field) not in allowed:
            raise ValueError(
                f"templates.yaml: {where}.{field}: {raw.get(field)!r} not in {allowed}"
            )
    if raw["kind"] == "text" and raw.get("slot") not in SLOTS:
        raise ValueError(f"templates.yaml: {where}.slot: {raw.get('slot')!r} not in {SLOTS}")
    frame = (0.0, 0.0, 1.0, 1.0)
    fields = {k: v for k, v in raw.items() if k not in ("box", "box_no_image")}
    return Layer(
        **fields,
        boxes=_boxes(where, raw.get("box", frame)),
        boxes_no_image=_boxes(where, raw["box_no_image"]) if "box_no_image" in raw else None,
    )


def _boxes(where: str, raw) -> dict[str, tuple[float, float, float, float]]:
    per_format = raw if isinstance(raw, dict) else dict.fromkeys(FORMATS, raw)
    boxes = {}
    for ad_format in FORMATS:
        box = tuple(float(v) for v in per_format.get(ad_format, ()))
        if len(box) != 4 or not (0 <= box[0] < box[2] <= 1 and 0 <= box[1] < box[3] <= 1):
            raise ValueError(
                f"templates.yaml: {where}.box[{ad_format}]: {box} is not a box in 0..1"
            )
        boxes[ad_format] = box
    return boxes


def clip_aspect(name: str, ad_format: str, frame: tuple[int, int]) -> float | None:
    """Width / height of the box the template shows its clip in, in a ``frame``-sized ad
    of ``ad_format`` (None: no clip layer). A clip drawn at this aspect fills the box."""
    for layer in template(name).layers:
        if layer.kind == "clip" and ad_format in layer.boxes:
            left, top, right, bottom = layer.boxes[ad_format]
            return (right - left) * frame[0] / ((bottom - top) * frame[1])
    return None
