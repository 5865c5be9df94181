"""What a campaign hands over: a delivery manifest (CSV and JSON) and contact sheets.

The manifest lists every delivered final: product, template, format, language,
variant, asset id, object location and a download link valid for ``LINK_DAYS``.
Contact sheets (drawn by ``composer.contact_sheet``): one JPEG of the finals at
delivery, and one PNG of the previews (with their decisions) for review; this module
says what each cell shows.
"""

from __future__ import annotations

import csv
import json
import logging
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from composer.contact_sheet import (
    LABEL_HEIGHT,
    PREVIEW_LABEL_HEIGHT,
    SheetCell,
    Tag,
    draw_grid,
    thumbnail,
)
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
DECISIONS = ("pending", "approved", "rejected")
# A decision's tag: background and text colour.
DECISION_COLOURS = {
    "pending": ((242, 169, 0), (0, 0, 0)),
    "approved": ((46, 125, 50), (255, 255, 255)),
    "rejected": ((198, 40, 40), (255, 255, 255)),
}


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
            thumbnail(store.read(m["final_poster_key"])),
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
        poster = thumbnail(store.read(preview["preview_poster_key"]))
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
