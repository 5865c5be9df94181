"""Fonts for every script an ad may carry, installed from PyPI with adreel.

Noto Sans for Latin, Greek and Cyrillic; Noto Sans Arabic and Hebrew (``manimgx-fonts``);
Noto Sans CJK for Chinese, Japanese and Korean (``manimgx-fonts-cjk``), all under the SIL
Open Font License. Pillow draws one font at a time, so text is split into runs, each set
in the first font of the chain whose character map covers it; a merchant's brand font
goes first in the chain when it has one.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import manimgx_fonts
import manimgx_fonts_cjk
from fontTools.ttLib import TTFont
from PIL import ImageFont

from composer.defaults import DEFAULT_LOCALE

_NOTO = Path(manimgx_fonts.__file__).parent
_CJK = Path(manimgx_fonts_cjk.__file__).parent / "NotoSansCJK-VF.otf.ttc"
# Faces in the CJK collection, by the language whose glyph shapes they follow.
_CJK_FACE = {"ja": 0, "ko": 1, "zh_CN": 2, "zh": 2, "zh_TW": 3, "zh_HK": 4}
# Characters that take the font of the text around them rather than forcing a switch.
_NEUTRAL = set(" \u00a0\t-–—.,:;!?'\"()/%+&*")


@dataclass(frozen=True)
class Face:
    """One font file (and face index in a collection) at a weight."""

    path: Path
    index: int = 0

    def covers(self, char: str) -> bool:
        return ord(char) in _cmap(self.path, self.index)


def chain(locale: str = DEFAULT_LOCALE, brand_font: Path | None = None) -> tuple[Face, ...]:
    """Fonts tried in order for each character; the CJK face follows the locale."""
    language = locale.split("_")[0]
    cjk = _CJK_FACE.get(locale, _CJK_FACE.get(language, 2))
    faces = [
        Face(_NOTO / "NotoSans[wght].ttf"),
        Face(_NOTO / "NotoSansArabic[wght].ttf"),
        Face(_NOTO / "NotoSansHebrew[wght].ttf"),
        Face(_CJK, cjk),
        Face(_NOTO / "NotoSansSymbols[wght].ttf"),
    ]
    if brand_font is not None:
        faces.insert(0, Face(brand_font))
    return tuple(faces)


def runs(text: str, faces: tuple[Face, ...]) -> list[tuple[str, Face]]:
    """Split text into runs of one face each; neutral characters stay in the current run."""
    result: list[tuple[str, Face]] = []
    for char in text:
        if char in _NEUTRAL and result:
            face = result[-1][1]
        else:
            face = next((f for f in faces if f.covers(char)), faces[0])
        if result and result[-1][1] == face:
            result[-1] = (result[-1][0] + char, face)
        else:
            result.append((char, face))
    return result


@cache
def load(face: Face, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """A Pillow font; BASIC layout, because text arrives already shaped and reordered."""
    font = ImageFont.truetype(
        str(face.path), size, index=face.index, layout_engine=ImageFont.Layout.BASIC
    )
    with contextlib.suppress(OSError):  # a static font (a brand's own) has no weight axis
        font.set_variation_by_axes([700 if bold else 400])
    return font


@cache
def _cmap(path: Path, index: int) -> frozenset[int]:
    with TTFont(path, fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap())
