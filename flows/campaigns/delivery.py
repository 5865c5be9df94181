"""What a campaign hands over: a delivery manifest (CSV and JSON) and a contact sheet.

The manifest lists every delivered final: product, template, format, language,
variant, asset id, object location and a download link valid for ``LINK_DAYS``.
The contact sheet is one JPEG of the finals' posters, labelled, for a quick look.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from storage.objects import ObjectStore

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
THUMB_WIDTH = 216
COLUMNS = 5
LABEL_HEIGHT = 28


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
    """A grid of the finals' posters, each labelled with product and format."""
    posters = [m for m in materials if m["final_poster_key"]]
    if not posters:
        return None
    thumbs = [_thumbnail(store.read(m["final_poster_key"])) for m in posters]
    cell_height = max(t.height for t in thumbs) + LABEL_HEIGHT
    rows = -(-len(thumbs) // COLUMNS)
    sheet = Image.new("RGB", (THUMB_WIDTH * min(COLUMNS, len(thumbs)), cell_height * rows), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=14)
    for index, (material, thumb) in enumerate(zip(posters, thumbs, strict=True)):
        x, y = (index % COLUMNS) * THUMB_WIDTH, (index // COLUMNS) * cell_height
        sheet.paste(thumb, (x, y))
        label = f"{material['product_id']} {material['format']} v{material['variant']}"
        draw.text((x + 4, y + thumb.height + 6), label[:28], fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, "JPEG", quality=85)
    return path


def _thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    height = round(image.height * THUMB_WIDTH / image.width)
    return image.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
