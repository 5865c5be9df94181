"""Text that fits its box: wrapped at break opportunities, shrunk until it fits, drawn
right to left where the script is.

Arabic is shaped with ``arabic-reshaper`` (contextual letter forms and lam-alef) and every
line is reordered with ``python-bidi`` (the Unicode bidirectional algorithm), then drawn
with Pillow's basic layout. That works on a plain ``pip install``: Pillow's own shaping
(libraqm) needs FriBiDi from the operating system, which a fresh machine may lack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import arabic_reshaper
from bidi import get_display
from PIL import Image, ImageDraw

from composer import fonts

LINE_SPACING = 1.2
ELLIPSIS = "…"
# Bidi controls (Babel puts RLM around Arabic prices) only steer the reordering.
_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")
# A line may break after spaces and around each CJK character (which need no spaces).
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_UNITS = re.compile(rf"[{_CJK}][、。，．！？」』）]*|[^ {_CJK}]+ *| +")  # no break at NBSP
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")


@dataclass(frozen=True)
class TextStyle:
    """How a text slot is drawn; sizes in pixels of the output."""

    max_size: int
    min_size: int
    color: tuple[int, int, int]
    bold: bool = False
    align: str = "center"  # start | center | end (start is right for right-to-left text)
    strike: bool = False


@dataclass(frozen=True)
class FittedText:
    lines: list[str]  # logical order, one per line
    size: int
    truncated: bool


def fit(text: str, box: tuple[int, int], style: TextStyle, faces: tuple) -> FittedText:
    """The largest size at which the wrapped text fits the box; at the smallest size, the
    lines that fit, the last ending in an ellipsis at a word boundary."""
    width, height = box
    text = re.sub(r"[ \t\r\n]+", " ", text).strip()
    size = style.max_size
    while True:
        lines = wrap(text, width, size, style.bold, faces)
        if lines is not None and len(lines) * line_height(size) <= height:
            return FittedText(lines, size, truncated=False)
        smaller = max(style.min_size, int(size * 0.92))
        if smaller == size:
            break
        size = smaller
    lines = wrap(text, width, size, style.bold, faces, hard=True)
    keep = max(1, height // line_height(size))
    if len(lines) <= keep:
        return FittedText(lines, size, truncated=False)
    lines = lines[:keep]
    lines[-1] = _ellipsize(lines[-1], width, size, style.bold, faces)
    return FittedText(lines, size, truncated=True)


def line_height(size: int) -> int:
    return round(size * LINE_SPACING)


def wrap(
    text: str, width: int, size: int, bold: bool, faces: tuple, hard: bool = False
) -> list[str] | None:
    """Greedy wrap at break opportunities; None when one unit is wider than the box,
    unless ``hard``, when such a unit is broken between characters as a last resort."""
    lines: list[str] = []
    current = ""
    for unit in _UNITS.findall(text):
        candidate = current + unit
        if measure(candidate.rstrip(), size, bold, faces) <= width:
            current = candidate
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = unit.lstrip() if not unit.isspace() else ""
        if measure(current.rstrip(), size, bold, faces) > width:
            if not hard:
                return None
            pieces = _break_chars(current.rstrip(), width, size, bold, faces)
            lines.extend(pieces[:-1])
            current = pieces[-1]
    if current.strip():
        lines.append(current.rstrip())
    return lines


def measure(text: str, size: int, bold: bool, faces: tuple) -> float:
    return sum(
        fonts.load(face, size, bold).getlength(run) for run, face in fonts.runs(shape(text), faces)
    )


def shape(text: str) -> str:
    """Arabic letters in their contextual forms; logical order is kept."""
    return arabic_reshaper.reshape(text) if _RTL.search(text) else text


def visual(line: str) -> str:
    """A shaped line in the order it is drawn, left to right, without bidi controls."""
    return _CONTROLS.sub("", get_display(shape(line)))


def is_rtl(text: str) -> bool:
    """The paragraph direction: that of the first strongly directional character."""
    for char in text:
        if _RTL.match(char):
            return True
        if char.isalpha():
            return False
    return False


def render(text: str, box: tuple[int, int], style: TextStyle, faces: tuple) -> Image.Image:
    """The fitted text as an RGBA image the size of its box, vertically centred."""
    fitted = fit(text, box, style, faces)
    image = Image.new("RGBA", box, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    step = line_height(fitted.size)
    top = (box[1] - step * len(fitted.lines)) // 2
    align = _resolved_align(style.align, is_rtl(text))
    for number, line in enumerate(fitted.lines):
        drawn = visual(line)
        line_width = measure(line, fitted.size, style.bold, faces)
        left = {"left": 0, "center": (box[0] - line_width) / 2, "right": box[0] - line_width}[align]
        y = top + number * step
        for run, face in fonts.runs(drawn, faces):
            font = fonts.load(face, fitted.size, style.bold)
            draw.text((left, y + step / 2), run, font=font, fill=style.color, anchor="lm")
            left += font.getlength(run)
        if style.strike:
            thickness = max(2, fitted.size // 12)
            start = {"left": 0, "center": (box[0] - line_width) / 2}.get(align, left - line_width)
            mid = y + step // 2
            draw.rectangle(
                (start, mid - thickness // 2, start + line_width, mid + thickness // 2),
                fill=style.color,
            )
    return image


def _resolved_align(align: str, rtl: bool) -> str:
    if align == "center":
        return "center"
    return (
        {"start": "right", "end": "left"}[align]
        if rtl
        else {"start": "left", "end": "right"}[align]
    )


def _break_chars(word: str, width: int, size: int, bold: bool, faces: tuple) -> list[str]:
    pieces, current = [], ""
    for char in word:
        if current and measure(current + char, size, bold, faces) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def _ellipsize(line: str, width: int, size: int, bold: bool, faces: tuple) -> str:
    """Drop whole units from the end until the line and an ellipsis fit."""
    units = _UNITS.findall(line)
    while units and measure("".join(units).rstrip() + ELLIPSIS, size, bold, faces) > width:
        units.pop()
    return "".join(units).rstrip() + ELLIPSIS
