"""The composer's output is a platform-ready MP4: the right codec, size and length, text
inside the platform's safe area, and an ad even from imperfect inputs."""

from __future__ import annotations

import logging
import re
import subprocess
import wave
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from composer import (
    PLATFORMS,
    TEMPLATES,
    AdRequest,
    BrandKit,
    BrandKitError,
    ProductCopy,
    compose_ad,
    load_brand_kit,
    plan_scene,
)
from composer.formats import Box, safe_area
from composer.frames import ClipBackground, render_frame
from tests.helpers.media import probe, top_level_boxes

SHOE = ProductCopy(
    "Aurora Trail Running Shoe",
    Decimal("80.00"),
    "USD",
    sale_price=Decimal("59.99"),
    description="Waterproof mesh upper. Grippy lugged sole. Weighs only 240 g.",
    brand="Northpeak",
    image=Image.new("RGB", (600, 600), "orange"),
)
BRAND = BrandKit("Northpeak", primary=(255, 196, 0), secondary=(17, 17, 20))


def clip(frames: int = 9) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (frames, 160, 96, 3), dtype=np.uint8)


def request(template="showcase", ad_format="9x16", **changes) -> AdRequest:
    products = (SHOE,) * (3 if template == "carousel" else 1)
    platforms = ("tiktok",) if ad_format == "9x16" else ("feed",)
    fields = {
        "products": products,
        "duration_s": 2.0,
        "platforms": platforms,
        "brand": BRAND,
        "long_side": 320,
        "clip_frames": clip(),
        "clip_fps": 8,
        **changes,
    }
    return AdRequest(template, ad_format, **fields)


@pytest.fixture(scope="module")
def full_size(tmp_path_factory):
    """One ad at the real final size: 1080x1920, 6 seconds."""
    out = tmp_path_factory.mktemp("full")
    return compose_ad(request(duration_s=6.0, long_side=None), out)


def test_final_is_h264_high_yuv420p_1080x1920_and_six_seconds(full_size):
    info = probe(full_size.video_path)
    assert (info.codec, info.profile, info.pixel_format) == ("h264", "High", "yuv420p")
    assert (info.width, info.height) == (1080, 1920)
    assert info.duration_s == pytest.approx(6.0, abs=1 / 30)
    assert "30 fps" in _ffmpeg_info(full_size.video_path)


def test_video_starts_playing_before_it_is_downloaded(full_size):
    boxes = top_level_boxes(full_size.video_path.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart


def test_poster_and_small_thumbnail(full_size):
    with Image.open(full_size.poster_path) as poster:
        assert (poster.format, poster.size) == ("JPEG", (1080, 1920))
    with Image.open(full_size.thumbnail_path) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) == 320


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_template_renders_in_every_format(template, tmp_path):
    for ad_format, (width, height) in FORMATS_AND_SIZES.items():
        ad = compose_ad(request(template, ad_format), tmp_path, f"{template}-{ad_format}")
        info = probe(ad.video_path)
        assert (info.width, info.height) == (width, height)
        assert info.duration_s == pytest.approx(2.0, abs=1 / 30)


FORMATS_AND_SIZES = {"9x16": (180, 320), "1x1": (320, 320), "16x9": (320, 180)}


def test_tiktok_safe_area_is_the_one_tiktok_publishes():
    assert safe_area("9x16", ("tiktok",), (1080, 1920)) == Box(40, 150, 1080 - 150, 1920 - 440)


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_text_layer_lies_inside_its_presets_safe_area(template):
    without_image = ProductCopy("Shoe", Decimal("10"), "USD", Decimal("5"), "A. B. C.")
    for platform, formats in PLATFORMS.items():
        for ad_format in formats:
            for product in (SHOE, without_image):
                products = (product,) * (3 if template == "carousel" else 1)
                chosen = request(template, ad_format, products=products, long_side=None)
                scene = plan_scene(replace(chosen, platforms=(platform,)))
                safe = safe_area(ad_format, (platform,), scene.size)
                texts = [p for p in scene.placed if p.kind == "text"]
                assert texts, (template, platform, ad_format)
                for layer in texts:
                    assert layer.box.inside(safe), (template, platform, ad_format, layer)


def test_templates_show_their_slots():
    slots = {t: {p.slot for p in plan_scene(request(t)).placed} for t in TEMPLATES}
    assert {"title", "price"} <= slots["showcase"]
    assert {"old_price", "sale_price", "discount"} <= slots["sale"]
    assert {"feature"} <= slots["feature"]
    assert all({"brand", "cta"} <= found for found in slots.values())  # the end card
    carousel = plan_scene(request("carousel", products=(SHOE,) * 4)).placed
    assert sum(p.slot == "title" for p in carousel) == 4
    features = [p for p in plan_scene(request("feature")).placed if p.slot == "feature"]
    assert len(features) == 3  # three short lines from the description


def test_end_card_is_in_brand_colours():
    scene = plan_scene(request())
    corner = scene.end_frame.rgb()[2, 2].astype(int)
    assert np.abs(corner - BRAND.primary).max() <= 3  # through yuv420p, as a player shows it


def test_text_is_drawn_in_its_colours():
    """White title, the price in the brand's primary colour, both fully shown."""
    scene = plan_scene(request(clip_frames=None, duration_s=6.0, long_side=640))
    background = ClipBackground(None, 8, scene.size, 0, scene.background)
    frame = render_frame(scene, background, scene.body_s * 0.9)
    pixels = frame.rgb().astype(int)
    boxes = {p.slot: p.box for p in scene.placed if p.kind == "text"}

    def ink(slot: str) -> np.ndarray:
        """The median colour of the text's strokes (the background here is dark)."""
        box = boxes[slot]
        region = pixels[box.top : box.bottom, box.left : box.right].reshape(-1, 3)
        return np.median(region[region.max(axis=1) > 150], axis=0)

    # yuv420p halves colour resolution: thin strokes lose some saturation.
    assert np.abs(ink("title") - (250, 250, 250)).max() <= 40
    assert np.abs(ink("price") - BRAND.primary).max() <= 40


def test_preview_carries_a_watermark_and_final_does_not():
    final, preview = plan_scene(request()), plan_scene(request(preview=True))
    assert final.watermark is None and preview.watermark is not None
    background = ClipBackground(None, 8, final.size, final.dim, final.background)
    difference = np.abs(
        render_frame(final, background, 0.1).rgb().astype(int)
        - render_frame(preview, background, 0.1).rgb().astype(int)
    )
    rows = np.nonzero(difference.sum(axis=(1, 2)))[0]
    columns = np.nonzero(difference.sum(axis=(0, 2)))[0]
    # In the safe area's top-left corner band, clear of every text box (one pixel of
    # slack each way: chroma is stored at half resolution, so an edge bleeds by one).
    assert len(rows) and rows.min() >= preview.safe.top - 1 and rows.max() < preview.safe.top + 60
    assert columns.min() >= preview.safe.left - 1 and columns.max() < final.size[0] / 2
    band = (rows.min(), rows.max(), columns.min(), columns.max())
    for placed in preview.placed:
        box = placed.box
        assert not (box.top <= band[1] and band[0] < box.bottom
                    and box.left <= band[3] and band[2] < box.right), placed  # fmt: skip


def test_unknown_template_or_format_is_one_line_listing_the_known_ones():
    with pytest.raises(ValueError, match=r"^unknown template 'promo'; known: showcase, sale"):
        plan_scene(request("promo"))
    with pytest.raises(ValueError, match=r"^unknown format '4x5'; known: 9x16, 1x1, 16x9$"):
        plan_scene(request(ad_format="4x5"))
    with pytest.raises(ValueError, match="format 16x9 is posted on none of tiktok; it suits: feed"):
        plan_scene(request(ad_format="16x9", platforms=("tiktok",)))
    with pytest.raises(ValueError, match="'carousel' takes 3 to 5 products, not 1"):
        plan_scene(request("carousel", products=(SHOE,)))


def test_sale_needs_a_sale_price():
    full_price = ProductCopy("Shoe", Decimal("10"), "USD")
    with pytest.raises(ValueError, match="'sale' needs a sale price below the price"):
        plan_scene(request("sale", products=(full_price,)))


def test_missing_image_falls_back_and_the_log_says_why(tmp_path):
    records = _capture("composer")
    no_image = ProductCopy("Aurora Trail Running Shoe", Decimal("89"), "USD")
    ad = compose_ad(request(products=(no_image,)), tmp_path)
    assert probe(ad.video_path).width == 180
    assert any("no usable image" in r.getMessage() for r in records)
    # The clip is the hero: only the end card's product card goes missing.
    without = plan_scene(request(products=(no_image,)))
    assert not [p for p in without.placed if p.kind == "image"]
    assert [p for p in plan_scene(request()).placed if p.kind == "image"]


def test_clip_shorter_than_the_ad_is_looped_or_held(tmp_path):
    for frames in (1, 2):
        ad = compose_ad(request(clip_frames=clip(frames), duration_s=2.0), tmp_path, f"c{frames}")
        assert probe(ad.video_path).duration_s == pytest.approx(2.0, abs=1 / 30)


def test_no_clip_at_all_renders_on_the_brand_gradient(tmp_path):
    ad = compose_ad(request(clip_frames=None), tmp_path)
    assert probe(ad.video_path).height == 320


def test_soundtrack_is_looped_faded_and_encoded_as_aac(tmp_path):
    music = tmp_path / "music.wav"
    with wave.open(str(music), "wb") as handle:  # half a second of a 440 Hz tone
        handle.setparams((1, 2, 22050, 0, "NONE", "not compressed"))
        tone = (np.sin(np.arange(11025) * 2 * np.pi * 440 / 22050) * 20000).astype("<i2")
        handle.writeframes(tone.tobytes())
    ad = compose_ad(request(soundtrack=music), tmp_path)
    info = _ffmpeg_info(ad.video_path)
    assert re.search(r"Audio: aac", info), info
    assert probe(ad.video_path).duration_s == pytest.approx(2.0, abs=0.05)
    silent = compose_ad(request(), tmp_path, "silent")
    assert "Audio:" not in _ffmpeg_info(silent.video_path)  # no soundtrack by default


def _ffmpeg_info(path: Path) -> str:
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        text=True,
    )
    return result.stderr


def _capture(name: str) -> list[logging.LogRecord]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return records


def test_campaign_formats_must_be_posted_on_one_of_its_platforms():
    from campaigns.spec import CampaignFileError, campaign_from_dict

    spec = campaign_from_dict(
        {"campaign": "c", "formats": ["9x16", "1x1"], "platforms": ["tiktok", "feed"]}, "c.yaml"
    )
    assert spec.formats == ["9x16", "1x1"]
    with pytest.raises(
        CampaignFileError, match=r"^c.yaml: platforms: format 16x9 is posted on none"
    ):
        campaign_from_dict({"campaign": "c", "formats": ["9x16", "16x9"]}, "c.yaml")
    with pytest.raises(CampaignFileError, match="unknown template 'promo'; known: carousel"):
        campaign_from_dict({"campaign": "c", "templates": ["promo"]}, "c.yaml")


def test_brand_kit_file_fields_are_checked_in_one_line(tmp_path):
    kit_file = tmp_path / "brand.yaml"
    kit_file.write_text("name:\nprimary: '#ff0000'\n")
    assert load_brand_kit(kit_file).name == ""  # an empty name is no name, not "None"
    for text, message in (
        ("logo: 12\n", r"brand.yaml: logo: expected a file path, not 12$"),
        ("font: [a, b]\n", r"brand.yaml: font: expected a file path, not \['a', 'b'\]$"),
        ("logo: missing.png\n", r"brand.yaml: logo: no file .*missing.png$"),
        ("name: {a: 1}\n", r"brand.yaml: name: expected text, not dict$"),
    ):
        kit_file.write_text(text)
        with pytest.raises(BrandKitError, match=message):
            load_brand_kit(kit_file)
