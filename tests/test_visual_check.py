"""The visual check (composer/qa.py): deliberately bad ads fail the check meant for them,
and a good one passes. Frames are rendered as compose_ad renders them, without encoding."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import numpy as np
import pytest
from PIL import Image

from composer import AdRequest, BrandKit, ProductCopy
from composer.clip import ClipBackground
from composer.compose import compose_ad, plan_scene
from composer.formats import FPS, Box, output_size
from composer.frames import render_frame
from composer.qa import check_ad, sample_times
from composer.scene import Shown, build_scene
from composer.templates import Layer, template
from tests.bench.render import smooth_clip

SHOE = ProductCopy(
    "Aurora Trail Running Shoe",
    Decimal("89.00"),
    "USD",
    description="Waterproof mesh upper. Grippy sole.",
    image=Image.new("RGB", (400, 300), (220, 90, 40)),
)


def clip_of(kind: str) -> np.ndarray:
    moving = smooth_clip(count=32, width=96, height=160)
    if kind == "noise":
        return np.random.default_rng(1).integers(0, 256, moving.shape, dtype=np.uint8)
    if kind == "black":
        return np.zeros_like(moving)
    if kind == "still":
        return np.repeat(moving[:1], len(moving), axis=0)
    if kind == "stalls":  # moves for a second (8 frames at 8 fps), then stops
        moving[8:] = moving[8]
        return moving
    return moving


def check(kind="good", ad_format="9x16", chosen=None, spoil=None):
    """The report of a 4 s preview of ``chosen`` (a Template) over a clip of ``kind``;
    ``spoil`` may change the scene before the frames are rendered."""
    clip = clip_of(kind)
    platforms = ("tiktok",) if ad_format == "9x16" else ("feed",)
    chosen = chosen or template("showcase")
    size = output_size(ad_format, 480)
    scene = build_scene(
        chosen, ad_format, platforms, size, (SHOE,), 4.0, "en_US", BrandKit("Northpeak"), True
    )
    if spoil:
        spoil(scene)
    background = ClipBackground(clip, 8, scene.size, scene.dim, scene.background, scene.clip_box)
    try:
        samples = {
            t: render_frame(scene, background, round(t * FPS) / FPS).copy()
            for t in sample_times(scene)
        }
    finally:
        background.close()
    return check_ad(scene, samples, clip)


def failed(report) -> set[str]:
    return {reason.split(":")[0] for reason in report.reasons}


@pytest.mark.parametrize("ad_format", ["9x16", "1x1", "16x9"])
def test_a_good_ad_passes(ad_format):
    report = check(ad_format=ad_format)
    assert report.status == "passed", report.reasons
    assert min(report.measures["contrast"].values()) >= 4.5


def test_a_noisy_clip_fails_the_noise_check_only():
    report = check("noise")
    assert failed(report) == {"noise"}
    assert report.measures["neighbour_correlation"] < 0.2


def test_noise_check_can_be_skipped_and_says_so():
    clip = clip_of("noise")
    request = AdRequest(
        "showcase", "1x1", (SHOE,), duration_s=4.0, platforms=("feed",), long_side=320,
        clip_frames=clip, clip_fps=8, qa_skip=("noise",),
    )  # fmt: skip
    scene = plan_scene(request)
    assert scene.clip_box is not None
    report = check_ad(scene, {}, clip, ("noise",))
    assert report.status == "passed" and report.skipped == ("noise",)
    with pytest.raises(ValueError, match="unknown visual check 'nois'"):
        check_ad(scene, {}, clip, ("nois",))


def test_a_black_clip_fails_as_black_and_still():
    assert {"black", "motion"} <= failed(check("black"))


def test_a_still_clip_has_no_motion():
    assert failed(check("still")) == {"motion"}


def test_a_clip_that_stops_is_frozen():
    report = check("stalls")
    assert failed(report) == {"frozen"}, report.reasons


def test_light_grey_text_on_a_light_clip_fails_contrast():
    showcase = template("showcase")
    bare = tuple(
        dataclasses.replace(layer, panel=None, color="#9a9a9a") if layer.kind == "text" else layer
        for layer in showcase.layers
    )
    report = check(chosen=dataclasses.replace(showcase, layers=bare))
    assert "contrast" in failed(report)
    assert any("title text" in reason for reason in report.reasons)


def test_a_cropped_product_fails():
    def crop(scene):  # a product card scaled to cover its box, as templates once did
        box = Box(40, 80, 240, 280)
        scene.shown.append(Shown("image", Box(0, 80, 280, 280), box, 0.0, 2.0))

    report = check(spoil=crop)
    assert failed(report) == {"cropped"}
    assert "a product image loses 14%" in report.reasons[0]


def test_a_clip_cropped_to_cover_its_box_fails():
    def stretch(scene):  # a box taller than the frame: the 9:16 clip spills off it
        scene.clip_box = Box(0, -scene.size[1], scene.size[0], 2 * scene.size[1])

    report = check(ad_format="16x9", spoil=stretch)
    assert "cropped" in failed(report)
    assert any("the clip (the product's hero scene)" in r for r in report.reasons)


def test_text_outside_the_safe_area_or_under_the_preview_mark_fails():
    def move(scene):
        title = next(p for p in scene.placed if p.slot == "title")
        title.box = Box(scene.safe.left, scene.safe.top, title.box.right, title.box.bottom)

    report = check(spoil=move)
    assert any("PREVIEW mark covers the title" in r for r in report.reasons)

    def out(scene):
        price = next(p for p in scene.placed if p.slot == "price")
        price.box = Box(price.box.left, price.box.top, price.box.right, scene.size[1])

    assert "safe_area" in failed(check(spoil=out))


def test_compose_ad_records_the_check(tmp_path):
    request = AdRequest(
        "sale" if SHOE.on_sale else "showcase", "9x16", (SHOE,), duration_s=4.0,
        long_side=320, clip_frames=clip_of("good"), clip_fps=8, preview=True,
    )  # fmt: skip
    ad = compose_ad(request, tmp_path)
    assert ad.qa is not None and ad.qa.status == "passed", ad.qa.reasons


def test_layer_defaults_keep_the_clip_undimmed():
    for name in ("showcase", "sale", "carousel", "feature"):
        clip = [layer for layer in template(name).layers if layer.kind == "clip"]
        assert clip and isinstance(clip[0], Layer)
        assert not [layer for layer in template(name).layers if layer.kind == "image"
                    and layer.repeat != "products"]  # fmt: skip
