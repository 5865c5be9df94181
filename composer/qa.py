"""The visual check of every ad, run as it is composed and recorded on its asset.

Each check looks at what the viewer sees, in frames sampled across the ad, or at where
the scene placed things, and names what fails in one line:

- ``safe_area``: every text box inside the platforms' safe area, none under the PREVIEW mark;
- ``contrast``: text at least 4.5:1 (WCAG AA) against what is behind it, in every sampled
  frame that shows it whole;
- ``cropped``: the product (the clip, the hero, and any product card) shown whole;
- ``black``, ``frozen``, ``motion``: no black frame, no still stretch between moving ones,
  and motion somewhere in the body;
- ``noise``: a clip of random noise (neighbouring pixels unrelated, as the tiny test
  model makes) rather than a picture.

``skip`` names checks not to fail on (recorded, not applied): the test suite renders
with ``builtin:tiny``, whose output is noise by design (ADREEL_QA_SKIP=noise there).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from composer.clip import clip_placement
from composer.formats import Box
from composer.scene import FADE_S, Scene, contrast_ratio, watermark_box
from composer.yuv import Planes

CHECKS = ("safe_area", "contrast", "cropped", "black", "frozen", "motion", "noise")
MIN_CONTRAST = 4.5
SAMPLE_EVERY_S = 0.5
CROP_TOLERANCE = 0.04  # of the product's size, each side (the clip may cover this much)
BLACK_Y = 24  # limited-range luma (16 is black)
STILL = 0.6  # mean absolute luma change between samples below this is no change
NOISE_CORRELATION = 0.6  # neighbouring pixels of a picture correlate far above this


@dataclass(frozen=True)
class QaReport:
    reasons: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    measures: dict = field(default_factory=dict, compare=False)

    @property
    def status(self) -> str:
        return "qa_failed" if self.reasons else "passed"


def sample_times(scene: Scene) -> list[float]:
    """When frames are sampled: every half second of the body, and the end card."""
    times = list(np.arange(SAMPLE_EVERY_S / 2, scene.body_s, SAMPLE_EVERY_S))
    if scene.end_frame is not None:
        times.append(scene.duration_s - 1 / 30)
    return [float(t) for t in times]


def check_ad(
    scene: Scene,
    samples: dict[float, Planes],
    clip_frames: np.ndarray | None,
    skip: tuple[str, ...] = (),
) -> QaReport:
    """Every check on one ad: ``samples`` maps times (``sample_times``) to frames."""
    unknown = set(skip) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown visual check {sorted(unknown)[0]!r}; known: {', '.join(CHECKS)}")
    measures: dict = {}
    found = {
        "safe_area": check_safe_area(scene),
        "contrast": check_contrast(scene, samples, measures),
        "cropped": check_cropped(scene, clip_frames),
        **check_frames(scene, samples, measures),
        "noise": check_noise(clip_frames, measures),
    }
    reasons = tuple(r for name, rs in found.items() if name not in skip for r in rs)
    return QaReport(reasons, tuple(sorted(set(skip))), measures)


def check_safe_area(scene: Scene) -> list[str]:
    reasons = []
    mark = None
    if scene.watermark is not None and scene.safe is not None:
        mark = watermark_box(scene.safe, min(scene.size) / 1080)
    for placed in scene.placed:
        if placed.kind not in ("text", "logo"):
            continue
        name = placed.slot or placed.kind
        if scene.safe is not None and not placed.box.inside(scene.safe):
            reasons.append(f"safe_area: {name} box {_box(placed.box)} outside the safe area "
                           f"{_box(scene.safe)}")  # fmt: skip
        covered = mark is not None and _overlap(placed.box, mark)
        if covered and placed.slot in ("title", "price", "sale_price", "old_price"):
            reasons.append(f"safe_area: the PREVIEW mark covers the {name}")
    return reasons


def check_contrast(scene: Scene, samples: dict[float, Planes], measures: dict) -> list[str]:
    """The text's strokes against the pixels between and around them, in the frame: for
    light text the brightest tenth of the background, for dark text the darkest."""
    worst: dict[str, tuple[float, float]] = {}
    for t, frame in samples.items():
        overlays = scene.end_overlays if t >= scene.body_s else scene.overlays
        for overlay in overlays:
            if overlay.glyph is None or not overlay.start + FADE_S <= t < overlay.end:
                continue
            ratio = _text_contrast(frame, overlay.box, overlay.glyph, overlay.backing)
            if ratio is not None and ratio < worst.get(overlay.slot, (99.0, t))[0]:
                worst[overlay.slot] = (ratio, t)
    measures["contrast"] = {slot: round(r, 2) for slot, (r, _) in worst.items()}
    return [
        f"contrast: {slot} text {ratio:.1f}:1 against what is behind it at {t:.1f}s "
        f"(at least {MIN_CONTRAST}:1)"
        for slot, (ratio, t) in worst.items()
        if ratio < MIN_CONTRAST
    ]


def check_cropped(scene: Scene, clip_frames: np.ndarray | None) -> list[str]:
    reasons = []
    frame = Box(0, 0, *scene.size)
    shown = list(scene.shown)
    if clip_frames is not None and len(clip_frames):
        height, width = clip_frames.shape[1:3]
        place = clip_placement((width, height), scene.size, scene.clip_box)
        shown.insert(0, _Shown("clip", place, scene.clip_box or frame))
    for item in shown:
        visible = _intersect(item.visible, frame)
        cut = _cut(item.content, visible)
        if cut > CROP_TOLERANCE:
            what = (
                "the clip (the product's hero scene)" if item.what == "clip" else "a product image"
            )
            reasons.append(f"cropped: {what} loses {cut:.0%} of its size at an edge")
    return reasons


def check_frames(scene: Scene, samples: dict[float, Planes], measures: dict) -> dict:
    """Black frames anywhere; in the body, a still stretch between moving ones (frozen)
    or no motion at all."""
    # The body only: a brand whose colour is black has a dark end card, rightly.
    black = [t for t, f in samples.items() if t < scene.body_s and _is_black(f)]
    body = sorted((t, f) for t, f in samples.items() if t < scene.body_s)
    # Motion is the clip's: pixels no text, card or mark ever covers (fades are not).
    clear = np.ones((scene.size[1], scene.size[0]), dtype=bool)
    for item in [*scene.overlays, *scene.pictures, scene.watermark]:
        if item is not None:
            clear[item.box.top : item.box.bottom, item.box.left : item.box.right] = False
    clear = clear[::4, ::4]
    changes = [
        (t0, t1, float(np.abs(a.y[::4, ::4].astype(np.int16) - b.y[::4, ::4])[clear].mean()))
        for (t0, a), (t1, b) in itertools.pairwise(body)
    ]
    measures["motion"] = [round(c, 2) for _, _, c in changes]
    moving = [c >= STILL for _, _, c in changes]
    frozen = []
    if any(moving):
        run_start = None
        for (t0, t1, _), moves in zip(changes, moving, strict=True):
            if not moves:
                run_start = t0 if run_start is None else run_start
                if t1 - run_start >= 1.0 - 1e-6:
                    frozen.append((run_start, t1))
            else:
                run_start = None
    return {
        "black": [f"black: frame at {t:.1f}s is black" for t in black],
        "frozen": [f"frozen: nothing moves from {a:.1f}s to {b:.1f}s" for a, b in frozen[-1:]],
        "motion": [] if any(moving) or len(changes) < 2 else ["motion: nothing moves in the ad"],
    }


def check_noise(clip_frames: np.ndarray | None, measures: dict) -> list[str]:
    """Neighbouring pixels of any picture are strongly related (correlation well above
    0.8, even for fine texture at a clip's size); random noise's are not (about 0)."""
    if clip_frames is None or not len(clip_frames):
        return []
    picks = clip_frames[:: max(1, len(clip_frames) // 6)].astype(np.float32).mean(axis=-1)
    scores = []
    for grey in picks:
        across = _correlation(grey[:, :-1], grey[:, 1:])
        down = _correlation(grey[:-1, :], grey[1:, :])
        scores.append(min(across, down))
    score = float(np.median(scores))
    measures["neighbour_correlation"] = round(score, 3)
    if score < NOISE_CORRELATION:
        return [f"noise: the clip is noise (neighbouring pixels correlate {score:.2f}, "
                f"a picture's above {NOISE_CORRELATION})"]  # fmt: skip
    return []


@dataclass(frozen=True)
class _Shown:
    what: str
    content: Box
    visible: Box


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    spread = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return 1.0 if spread < 1e-6 else float((a * b).sum() / spread)


def _text_contrast(frame: Planes, box: Box, glyph: np.ndarray, backing) -> float | None:
    """Behind the text: its panel when it has one, else the frame around its strokes."""
    rgb = _region_rgb(frame, box)
    glyph = glyph[: rgb.shape[0], : rgb.shape[1]]
    # Between the strokes, a little away from them (anti-aliased edges are neither).
    near = glyph.copy()
    for shift in (1, 2, 3):
        near[shift:] |= glyph[:-shift]
        near[:-shift] |= glyph[shift:]
        near[:, shift:] |= glyph[:, :-shift]
        near[:, :-shift] |= glyph[:, shift:]
    behind_mask = ~near if backing is None else ~near & backing[: rgb.shape[0], : rgb.shape[1]]
    ink, behind = rgb[glyph], rgb[behind_mask]
    if len(ink) < 20 or len(behind) < 20:
        return None
    ink_l = _luminance(np.median(ink, axis=0)[None])[0]
    behind_l = _luminance(behind)
    worst = np.percentile(behind_l, 90 if ink_l > np.median(behind_l) else 10)
    return contrast_ratio(float(ink_l), float(worst))


def _region_rgb(frame: Planes, box: Box) -> np.ndarray:
    y = frame.y[box.top : box.bottom, box.left : box.right].astype(np.float32) - 16.0
    u = frame.u[box.top // 2 : box.bottom // 2, box.left // 2 : box.right // 2]
    v = frame.v[box.top // 2 : box.bottom // 2, box.left // 2 : box.right // 2]
    u = np.repeat(np.repeat(u, 2, 0), 2, 1)[: y.shape[0], : y.shape[1]].astype(np.float32) - 128
    v = np.repeat(np.repeat(v, 2, 0), 2, 1)[: y.shape[0], : y.shape[1]].astype(np.float32) - 128
    rgb = np.stack(
        (1.164384 * y + 1.596027 * v, 1.164384 * y - 0.391762 * u - 0.812968 * v,
         1.164384 * y + 2.017232 * u), axis=-1,
    )  # fmt: skip
    return np.clip(rgb, 0, 255)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    channels = rgb / 255.0
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def _is_black(frame: Planes) -> bool:
    """Black but for a little text: almost every pixel near black."""
    return float((frame.y[::4, ::4] < BLACK_Y).mean()) > 0.85


def _cut(content: Box, visible: Box) -> float:
    width, height = content.size
    return max(
        (visible.left - content.left) / width, (content.right - visible.right) / width,
        (visible.top - content.top) / height, (content.bottom - visible.bottom) / height, 0.0,
    )  # fmt: skip


def _intersect(a: Box, b: Box) -> Box:
    return Box(
        max(a.left, b.left), max(a.top, b.top), min(a.right, b.right), min(a.bottom, b.bottom)
    )


def _overlap(a: Box, b: Box) -> bool:
    return a.left < b.right and b.left < a.right and a.top < b.bottom and b.top < a.bottom


def _box(box: Box) -> str:
    return f"({box.left},{box.top})-({box.right},{box.bottom})"
