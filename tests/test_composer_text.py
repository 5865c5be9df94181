"""Text and images as a merchant's catalog really has them: long titles, prices in any
locale, right-to-left and CJK scripts, huge, CMYK, transparent or broken images."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from PIL import Image, ImageDraw

from composer import fonts, load_image, text
from composer.copy import ProductCopy, discount_text, format_price

STYLE = text.TextStyle(max_size=80, min_size=24, color=(255, 255, 255), bold=True)
FACES = fonts.chain("en_US")


def test_a_two_thousand_character_title_fits_without_cutting_words():
    title = " ".join(f"Trailword{n}" for n in range(200))[:2000]
    fitted = text.fit(title, (900, 300), STYLE, FACES)
    assert fitted.truncated and fitted.size == STYLE.min_size
    assert len(fitted.lines) * text.line_height(fitted.size) <= 300
    words = set(title.split())
    for line in fitted.lines:
        assert text.measure(line, fitted.size, True, FACES) <= 900
        assert all(word in words for word in line.removesuffix("…").split())
    assert fitted.lines[-1].endswith("…")


def test_a_short_title_keeps_its_largest_size_and_wraps_at_spaces():
    fitted = text.fit("Aurora Trail Running Shoe", (500, 300), STYLE, FACES)
    assert fitted.size == 80 and not fitted.truncated
    assert " ".join(fitted.lines) == "Aurora Trail Running Shoe"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("19.99", "USD", "en_US", "$19.99"),
        ("19.99", "EUR", "de_DE", "19,99\xa0€"),
        ("4.5", "KWD", "ar_KW", "4.500\xa0د.ك."),
        ("1500", "JPY", "ja_JP", "￥1,500"),
    ],
)
def test_prices_follow_locale_and_currency(amount, currency, locale, shown):
    formatted = format_price(Decimal(amount), currency, locale)
    assert re.sub("[\u200e\u200f\u061c]", "", formatted) == shown


def test_discount_is_computed_from_price_and_sale_price_and_never_overstated():
    product = ProductCopy("Shoe", Decimal("80.00"), "EUR", sale_price=Decimal("60.01"))
    assert discount_text(product, "en_US") == "-24%"  # 24.99% off
    assert discount_text(product, "de_DE") == "-24\xa0%"


SCRIPTS = {
    "ar_SA": "حذاء الجري أورورا مقاوم للماء",
    "he_IL": "נעל ריצה אורורה עמידה למים",
    "zh_CN": "防水越野跑鞋 超轻透气",
    "ja_JP": "防水トレイルランニングシューズ",
    "ko_KR": "방수 트레일 러닝화",
}


@pytest.mark.parametrize("locale", SCRIPTS)
def test_every_script_renders_without_missing_glyph_boxes(locale):
    faces = fonts.chain(locale)
    fitted = text.fit(SCRIPTS[locale], (600, 400), STYLE, faces)
    drawn = 0
    for line in fitted.lines:
        for run, face in fonts.runs(text.visual(line), faces):
            font = fonts.load(face, fitted.size, True)
            missing = _glyph(font, "\U0010fffd")  # the face's missing-glyph box
            for char in run.replace(" ", ""):
                assert _glyph(font, char) != missing, (locale, char, face.path.name)
                drawn += 1
    assert drawn >= len(SCRIPTS[locale].replace(" ", "")) * 0.5  # Arabic ligatures join


def _glyph(font, char: str) -> bytes:
    image = Image.new("L", (font.size * 2, font.size * 2))
    ImageDraw.Draw(image).text((0, 0), char, font=font, fill=255)
    return image.tobytes()


def test_arabic_is_shaped_and_right_to_left_text_is_drawn_reversed():
    shaped = text.visual("سلام")
    assert all("\ufe70" <= char <= "\ufeff" for char in shaped)  # contextual forms
    assert text.visual("שלום") == "םולש"  # drawn left to right, read right to left
    assert text.is_rtl("שלום 123") and not text.is_rtl("Shoe שלום")
    image = text.render(
        "שלום",
        (400, 100),
        text.TextStyle(60, 20, (255, 255, 255), align="start"),
        fonts.chain("he_IL"),
    )
    left, _, right, _ = image.getbbox()
    assert right > 380 and left > 100  # right-aligned, as Hebrew starts on the right


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def test_corrupt_or_missing_image_is_none_and_logged():
    assert load_image(b"\xff\xd8\xff\xe0 not really a jpeg") is None
    assert load_image(None) is None


def test_cmyk_jpeg_becomes_rgb_with_its_colours():
    cmyk = Image.new("CMYK", (64, 64), (0, 255, 255, 0))  # red in CMYK
    image = load_image(_encoded(cmyk, "JPEG"))
    assert image.mode == "RGB"
    red, green, blue = image.getpixel((32, 32))
    assert red > 200 and green < 60 and blue < 60


def test_transparent_png_keeps_its_alpha():
    logo = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    logo.paste((200, 30, 30, 255), (16, 16, 48, 48))
    image = load_image(_encoded(logo, "PNG"))
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_fifty_megapixel_image_is_downscaled_with_bounded_memory(tmp_path):
    """In a process of its own, so that its peak memory is its own."""
    path = tmp_path / "huge.jpg"
    Image.new("RGB", (8660, 5774), (40, 120, 200)).save(path, "JPEG", quality=80)
    script = (
        "import resource, sys; from pathlib import Path\n"
        "from composer import load_image\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "image = load_image(Path(sys.argv[1]))\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(image.size[0], image.size[1], grown // 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    width, height, grown_mb = map(int, result.stdout.split())
    assert max(width, height) <= 2048
    assert grown_mb < 60  # the full image would be 150 MB of pixels
