"""What a campaign hands over: a delivery manifest (CSV and JSON) and contact sheets.

The manifest lists every delivered final: product, template, format, language,
variant, asset id, object location and a download link valid for ``LINK_DAYS``.
Contact sheets are grids of posters scaled to one width, each labelled: one JPEG of
the finals at delivery, and one PNG of the previews (with their decisions) for review.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from composer import fonts
from composer import text as composer_text
from composer.text import ELLIPSIS
from storage.objects import ObjectStore, StorageError

logger = logging.getLogger(__name__)

LINK_DAYS = 7
MANIFEST_FIELDS = (
    "product_id",
    "template",
    "format",
    "locale",
    "variant",
    "asset_id",
    "location",
    "url",
)
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
DECISIONS = ("pending", "approved", "rejected")
# A decision's tag: background and text colour.
DECISION_COLOURS = {
    "pending": ((242, 169, 0), (0, 0, 0)),
    "approved": ((46, 125, 50), (255, 255, 255)),
    "rejected": ((198, 40, 40), (255, 255, 255)),
}
_INK = (0, 0, 0)
_MUTED = (90, 90, 90)
_MISSING = (215, 215, 215)


def manifest_rows(materials: list[dict], store: ObjectStore) -> list[dict]:
    return [
        {
            "product_id": m["product_id"],
            "template": m["template"],
            "format": m["format"],
            "locale": m["locale"],
            "variant": m["variant"],
            "asset_id": m["final_asset_id"],
            "location": store.location(m["final_object_key"]),
            "url": store.url(
                m["final_object_key"],
                LINK_DAYS * 86400,
                download_name=f"{m['product_id']}-{m['format']}-v{m['variant']}.mp4",
            ),
        }
        for m in materials
    ]


def write_manifest(rows: list[dict], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = directory / "manifest.csv", directory / "manifest.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    json_path.write_text(json.dumps({"finals": rows}, indent=2) + "\n", encoding="utf-8")
    return csv_path, json_path


def write_contact_sheet(materials: list[dict], store: ObjectStore, path: Path) -> Path | None:
    """A JPEG grid of the finals' posters, each labelled with product, format and variant."""
    finals = [m for m in materials if m["final_poster_key"]]
    if not finals:
        return None
    cells = [
        SheetCell(
            _thumbnail(store.read(m["final_poster_key"])),
            (f"{m['product_id']} {m['format']} v{m['variant']}",),
            m["locale"],
        )
        for m in finals
    ]
    sheet = draw_grid(cells, LABEL_HEIGHT)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, "JPEG", quality=85)
    return path


def write_preview_sheet(
    campaign: Mapping,
    previews: list[dict],
    store: ObjectStore,
    path: Path,
    decision: str | None = None,
) -> int:
    """A PNG grid of the previews' posters (only those with ``decision`` when given), each
    labelled with product, material and a tag of its decision, under a header with the
    campaign and its counts. Returns how many previews it shows; with none, writes nothing.

    ``previews`` are rows of ``campaigns.records.campaign_previews``. A poster that can no
    longer be read (previews expire from the store) shows as a grey box, so one expired
    poster does not stop the review of the rest.
    """
    shown = [p for p in previews if decision is None or p["decision"] == decision]
    if not shown:
        return 0
    counts = Counter(p["decision"] for p in previews)
    header = (
        f"{campaign['campaign_id']} ({campaign['merchant_id']}): {len(previews)} previews, "
        + ", ".join(f"{counts[d]} {d}" for d in DECISIONS)
        + (f"; showing {decision}" if decision else "")
    )
    cells = [_preview_cell(p, store) for p in shown]
    sheet = draw_grid(cells, PREVIEW_LABEL_HEIGHT, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, "PNG", optimize=True)
    return len(shown)


def _preview_cell(preview: dict, store: ObjectStore) -> SheetCell:
    try:
        poster = _thumbnail(store.read(preview["preview_poster_key"]))
    except StorageError as exc:
        logger.warning("preview poster of %s unreadable: %s", preview["product_id"], exc)
        poster = None
    background, ink = DECISION_COLOURS[preview["decision"]]
    note = f"#{preview['preview_asset_id']}"
    if preview["reason"]:
        note += f" {preview['reason']}"
    title = preview["product_title"] or ""
    return SheetCell(
        poster,
        (
            f"{preview['product_id']}  {title}".strip(),
            f"{preview['template']} · {preview['format']} · {preview['locale']} · "
            f"v{preview['variant']}",
        ),
        preview["locale"],
        Tag(preview["decision"], background, ink, note),
    )


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
    locale: str = "en_US"
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


def _thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    height = round(image.height * THUMB_WIDTH / image.width)
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
