"""Contact sheets: posters in a grid, scaled to one width, each labelled under it.

Campaigns hand over two (composer draws them, campaigns/delivery.py says what goes in
each cell): a JPEG of the finals at delivery, and a PNG of the previews with a tag
for each one's decision, for review. Labels are drawn with the ad text's fonts, so any
script shows, and cut with an ellipsis to the cell's width.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

from composer import fonts
from composer import text as composer_text
from composer.defaults import DEFAULT_LOCALE
from composer.text import ELLIPSIS

# The grid: posters scaled to THUMB_WIDTH, COLUMNS to a row, PAD around each poster.
THUMB_WIDTH = 216
COLUMNS = 5
PAD = 6
HEADER_HEIGHT = 32
LINE_HEIGHT = 19
TEXT_SIZE = 13
HEADER_SIZE = 16
LABEL_HEIGHT = 28  # finals: one line
PREVIEW_LABEL_HEIGHT = 3 * LINE_HEIGHT + 6  # previews: product, material, decision
_INK = (0, 0, 0)
_MUTED = (90, 90, 90)
_MISSING = (215, 215, 215)


@dataclass(frozen=True)
class Tag:
    """A coloured tag on a cell's last label line, and a note after it."""

    text: str
    background: tuple[int, int, int]
    ink: tuple[int, int, int]
    note: str = ""


@dataclass(frozen=True)
class SheetCell:
    """One poster (None: unreadable) and the label under it."""

    poster: Image.Image | None
    lines: tuple[str, ...]
    locale: str = DEFAULT_LOCALE
    tag: Tag | None = None


def draw_grid(cells: list[SheetCell], label_height: int, header: str | None = None) -> Image.Image:
    """Cells of THUMB_WIDTH + 2 PAD by the tallest poster + label + 2 PAD, COLUMNS to a
    row, under an optional header line; posters at the top left of their cell."""
    thumb_height = max((c.poster.height for c in cells if c.poster), default=THUMB_WIDTH)
    cell_width, cell_height = THUMB_WIDTH + 2 * PAD, thumb_height + label_height + 2 * PAD
    top = HEADER_HEIGHT if header else 0
    rows = -(-len(cells) // COLUMNS)
    size = (cell_width * min(COLUMNS, len(cells)), top + cell_height * rows)
    sheet = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(sheet)
    if header:
        faces = fonts.chain()
        _draw_line(draw, (PAD, top // 2), header, size[0] - 2 * PAD, HEADER_SIZE, faces, bold=True)
    for index, cell in enumerate(cells):
        x = (index % COLUMNS) * cell_width + PAD
        y = top + (index // COLUMNS) * cell_height + PAD
        faces = fonts.chain(cell.locale)
        if cell.poster is None:
            draw.rectangle((x, y, x + THUMB_WIDTH - 1, y + thumb_height - 1), fill=_MISSING)
            _draw_line(
                draw,
                (x + PAD, y + thumb_height // 2),
                "poster unavailable",
                THUMB_WIDTH - 2 * PAD,
                TEXT_SIZE,
                faces,
                fill=_MUTED,
            )
        else:
            sheet.paste(cell.poster, (x, y))
        line_y = y + thumb_height + 2 + LINE_HEIGHT // 2
        for number, line in enumerate(cell.lines):
            fill = _INK if number == 0 else _MUTED
            _draw_line(draw, (x, line_y), line, THUMB_WIDTH, TEXT_SIZE, faces, fill=fill)
            line_y += LINE_HEIGHT
        if cell.tag:
            _draw_tag(draw, (x, line_y), cell.tag, faces)
    return sheet


def _draw_tag(draw: ImageDraw.ImageDraw, at: tuple[int, int], tag: Tag, faces: tuple) -> None:
    x, y = at
    label = tag.text.upper()
    width = round(composer_text.measure(label, TEXT_SIZE - 2, True, faces)) + 10
    half = (LINE_HEIGHT - 2) // 2
    draw.rounded_rectangle((x, y - half, x + width, y + half), radius=4, fill=tag.background)
    _draw_line(draw, (x + 5, y), label, width, TEXT_SIZE - 2, faces, fill=tag.ink, bold=True)
    room = THUMB_WIDTH - width - 6
    if tag.note and room > 0:
        _draw_line(draw, (x + width + 6, y), tag.note, room, TEXT_SIZE, faces, fill=_MUTED)


def _draw_line(
    draw: ImageDraw.ImageDraw,
    at: tuple[float, float],
    line: str,
    width: float,
    size: int,
    faces: tuple,
    fill: tuple[int, int, int] = _INK,
    bold: bool = False,
) -> None:
    """One line of any script, vertically centred on ``at``, cut to ``width`` with an
    ellipsis; one font per run, as the composer draws ad text."""
    x, y = at
    fitted = _ellipsized(" ".join(line.split()), width, size, bold, faces)
    for run, face in fonts.runs(composer_text.visual(fitted), faces):
        font = fonts.load(face, size, bold)
        draw.text((x, y), run, font=font, fill=fill, anchor="lm")
        x += font.getlength(run)


def _ellipsized(line: str, width: float, size: int, bold: bool, faces: tuple) -> str:
    """The line, or its longest start that fits with an ellipsis after it."""
    if composer_text.measure(line, size, bold, faces) <= width:
        return line
    low, high = 0, len(line)  # line[:low] + ellipsis fits; line[:high] + ellipsis does not
    while high - low > 1:
        middle = (low + high) // 2
        fits = composer_text.measure(line[:middle] + ELLIPSIS, size, bold, faces) <= width
        low, high = (middle, high) if fits else (low, middle)
    return line[:low].rstrip(" ·-") + ELLIPSIS


def thumbnail(data: bytes) -> Image.Image:
    """A poster's bytes, scaled to THUMB_WIDTH wide."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    height = round(image.height * THUMB_WIDTH / image.width)
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
