"""The product layer: the product cut out of its photo, or the photo itself as a plate.

1. Any image Pillow opens becomes 8-bit sRGB (16-bit, CMYK, palette, greyscale), its long
   side at most ``WORK_SIDE`` (a 50 MP photo is reduced first, never copied whole).
2. An alpha channel that hides something is the cut-out.
3. Otherwise the background is estimated from the border: a uniform border is flood
   filled from the edges (connected components of "close to the border colour" that touch
   the border); a near-uniform one seeds GrabCut; a busy one means a lifestyle photo.
4. A cut-out that keeps too little or too much of the image is not trusted: the photo is
   used whole, as a plate with rounded, feathered corners, and the reason is returned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from storage.images import to_srgb

log = logging.getLogger(__name__)

WORK_SIDE = 1600  # the product layer is never drawn larger than this
MASK_SIDE = 360  # the cut-out is found at this size, then scaled up and feathered
UNIFORM = 0.9  # share of border pixels near the border colour: a studio backdrop
NEAR_UNIFORM = 0.6  # below this, the background is a scene, not a backdrop
NEAR = 14.0  # Lab distance that counts as "the border colour"
KEEP = (0.03, 0.93)  # a trustworthy cut-out keeps between 3% and 93% of the image


@dataclass(frozen=True)
class ProductLayer:
    rgb: np.ndarray  # (h, w, 3) uint8, cropped to the product
    alpha: np.ndarray  # (h, w) uint8, feathered
    plate: bool  # the whole photo, not a cut-out
    note: str | None = None  # why a cut-out fell back to the plate


def product_layer(image: Image.Image, what: str = "product image") -> ProductLayer:
    rgb, alpha = _eight_bit_srgb(image)
    if alpha is not None and (alpha < 128).mean() > 0.02:
        return _cropped(rgb, _feathered(alpha, rgb.shape), plate=False)
    mask, reason = _background_cut(rgb)
    if mask is None:
        log.info("%s: %s; using it as a plate", what, reason)
        return _plate(rgb, note=None)
    kept = float((mask > 127).mean())
    if not KEEP[0] <= kept <= KEEP[1]:
        note = f"{what} could not be cut out cleanly (kept {kept:.0%}); shown as a plate"
        log.warning(note)
        return _plate(rgb, note)
    return _cropped(rgb, _feathered(mask, rgb.shape), plate=False)


def _eight_bit_srgb(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(RGB, alpha or None) as uint8 arrays, long side at most WORK_SIDE."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        # 16-bit and float greyscale: Pillow's convert() would clip everything to white.
        values = np.asarray(image, dtype=np.float32)
        top = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255, 0, 255).astype(np.uint8), "L")
    image = to_srgb(image)  # RGB or RGBA; a new image, so shrinking it in place is safe
    factor = max(image.size) // WORK_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(image)
    if image.mode == "RGBA":
        return np.ascontiguousarray(pixels[..., :3]), np.ascontiguousarray(pixels[..., 3])
    return np.ascontiguousarray(pixels), None


def _background_cut(rgb: np.ndarray) -> tuple[np.ndarray | None, str]:
    """The product mask (uint8, MASK_SIDE scale) or None and why there is none."""
    height, width = rgb.shape[:2]
    scale = min(1.0, MASK_SIDE / max(height, width))
    small = cv2.resize(rgb, (max(8, round(width * scale)), max(8, round(height * scale))))
    small = cv2.GaussianBlur(small, (3, 3), 0)  # JPEG noise on a white sweep
    lab = cv2.cvtColor(small.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    band = max(2, min(small.shape[:2]) // 40)
    border = np.ones(small.shape[:2], bool)
    border[band:-band, band:-band] = False
    backdrop = np.median(lab[border], axis=0)
    distance = np.linalg.norm(lab - backdrop, axis=2)
    near_share = float((distance[border] < NEAR).mean())
    if near_share < NEAR_UNIFORM:
        return None, f"a busy background ({near_share:.0%} of its border is one colour)"
    # Flood fill from the border, vectorised: the near-colour regions touching the edge.
    tolerance = max(NEAR, float(np.percentile(distance[border], 90)) + 4)
    _, labels = cv2.connectedComponents((distance < tolerance).astype(np.uint8), connectivity=4)
    edge_labels = np.unique(labels[border & (distance < tolerance)])
    background = np.isin(labels, edge_labels)
    mask = np.where(background, 0, 255).astype(np.uint8)
    if near_share < UNIFORM:
        mask = _grabcut(small, mask, border)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR), "cut out"


def _grabcut(small: np.ndarray, mask: np.ndarray, border: np.ndarray) -> np.ndarray:
    """Refine a flood fill on a shaded backdrop; GrabCut's colour models do the rest."""
    labels = np.where(mask > 0, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    labels[border] = cv2.GC_BGD
    if not (labels == cv2.GC_PR_FGD).any():
        return mask
    cv2.setRNGSeed(0)  # GrabCut seeds k-means: fixed, so a request renders the same twice
    background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(
        cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
        labels,
        None,
        background_model,
        foreground_model,
        3,
        cv2.GC_INIT_WITH_MASK,
    )
    keep = (labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD)
    return np.where(keep, 255, 0).astype(np.uint8)


def _feathered(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Pull the edge in a pixel (no backdrop halo) and soften it over about 1% of the size."""
    if mask.shape != shape[:2]:
        mask = cv2.resize(mask, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    radius = max(1, round(max(shape[:2]) / 300))
    mask = cv2.erode(mask, np.ones((2 * radius + 1,) * 2, np.uint8))
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=radius * 1.2)


def _cropped(rgb: np.ndarray, alpha: np.ndarray, plate: bool, note=None) -> ProductLayer:
    rows, cols = np.nonzero(alpha > 8)
    if len(rows) == 0:  # nothing left: never an empty frame
        return _plate(rgb, "the cut-out was empty; shown as a plate")
    pad = max(2, round(max(alpha.shape) / 100))
    top, bottom = max(0, rows.min() - pad), min(alpha.shape[0], rows.max() + pad + 1)
    left, right = max(0, cols.min() - pad), min(alpha.shape[1], cols.max() + pad + 1)
    return ProductLayer(
        np.ascontiguousarray(rgb[top:bottom, left:right]),
        np.ascontiguousarray(alpha[top:bottom, left:right]),
        plate,
        note,
    )


def _plate(rgb: np.ndarray, note: str | None) -> ProductLayer:
    """The whole photo on rounded, softly feathered corners."""
    height, width = rgb.shape[:2]
    radius = max(2, round(min(height, width) * 0.05))
    alpha = np.zeros((height, width), np.uint8)
    inset = max(1, radius // 4)
    cv2.rectangle(
        alpha, (inset + radius, inset), (width - 1 - inset - radius, height - 1 - inset), 255, -1
    )
    cv2.rectangle(
        alpha, (inset, inset + radius), (width - 1 - inset, height - 1 - inset - radius), 255, -1
    )
    for x in (inset + radius, width - 1 - inset - radius):
        for y in (inset + radius, height - 1 - inset - radius):
            cv2.circle(alpha, (x, y), radius, 255, -1, lineType=cv2.LINE_AA)
    alpha = cv2.GaussianBlur(alpha, (0, 0), sigmaX=max(0.6, inset / 2))
    return ProductLayer(rgb, alpha, plate=True, note=note)
