"""The composer's output is a platform-ready MP4 with its text inside the safe area."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generation.composer import TEXT_BOXES, AdCopy, compose_ad
from tests.media import probe, top_level_boxes

# TikTok in-feed at 1080x1920: top 150, bottom 440 and right 150 px carry its interface.
SAFE = (0, 150, 1080 - 150, 1920 - 440)


@pytest.fixture(scope="module")
def composed(tmp_path_factory):
    out = tmp_path_factory.mktemp("ad")
    frames = np.random.default_rng(0).integers(0, 255, (9, 160, 96, 3), dtype=np.uint8)
    copy = AdCopy(title="Aurora Trail Running Shoe", price_text="$89.00", brand="Northpeak")
    return compose_ad(
        frames,
        Image.new("RGB", (512, 512), "orange"),
        copy,
        out / "ad.mp4",
        out / "poster.jpg",
        duration_s=2.0,
    )


def test_video_is_h264_high_yuv420p_at_9x16(composed):
    info = probe(composed.video_path)
    assert (info.codec, info.profile, info.pixel_format) == ("h264", "High", "yuv420p")
    assert (info.width, info.height) == (720, 1280)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)


def test_video_starts_playing_before_it_is_downloaded(composed):
    boxes = top_level_boxes(composed.video_path.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart


def test_poster_is_a_jpeg_of_the_ad_size(composed):
    with Image.open(composed.poster_path) as poster:
        assert (poster.format, poster.size) == ("JPEG", (720, 1280))


def test_every_text_box_lies_inside_tiktoks_safe_area():
    left, top, right, bottom = SAFE
    for box in TEXT_BOXES:
        assert left <= box.left and top <= box.top and box.right <= right and box.bottom <= bottom


def test_a_two_thousand_character_title_still_renders(tmp_path):
    frames = np.zeros((9, 160, 96, 3), dtype=np.uint8)
    copy = AdCopy(title="Extraordinarily " * 125, price_text="$1.00", brand="B")
    ad = compose_ad(
        frames,
        Image.new("RGB", (64, 64)),
        copy,
        tmp_path / "a.mp4",
        tmp_path / "a.jpg",
        duration_s=0.5,
    )
    assert probe(ad.video_path).width == 720
