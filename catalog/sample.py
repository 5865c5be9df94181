"""The project's own sample catalog: 20 products with images drawn here with Pillow.

No third-party images: each product gets a simple, deterministic illustration (a
coloured shape on a soft background) so the demo has something real to animate.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw

IMAGE_SIZE = (512, 512)


def sample_rows() -> list[dict[str, str]]:
    text = resources.files("catalog").joinpath("sample_data/products.csv").read_text()
    return list(csv.DictReader(text.splitlines()))


def write_sample_catalog(directory: Path) -> Path:
    """Write ``products.jsonl`` and its images into ``directory``; return the catalog path.

    The output is the same bytes every time, so re-ingesting it is a no-op.
    """
    images = directory / "images"
    images.mkdir(parents=True, exist_ok=True)
    catalog_path = directory / "products.jsonl"
    lines = []
    for row in sample_rows():
        image_path = images / f"{row['id']}.png"
        if not image_path.exists():
            draw_product_image(row["shape"], row["color"]).save(image_path, optimize=False)
        lines.append(
            json.dumps(
                {
                    "id": row["id"],
                    "title": row["title"],
                    "description": f"{row['title']} by {row['brand']}.",
                    "link": f"https://shop.example.com/products/{row['id'].lower()}",
                    "image_link": f"images/{image_path.name}",
                    "price": f"{row['price']} {row['currency']}",
                    "brand": row["brand"],
                    "product_category": row["product_category"],
                    "color": row["color"],
                    "availability": "in stock",
                    "condition": "new",
                }
            )
        )
    catalog_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return catalog_path


def draw_product_image(shape: str, color: str) -> Image.Image:
    image = Image.new("RGB", IMAGE_SIZE, "#f4f1ea")
    draw = ImageDraw.Draw(image)
    draw.ellipse((56, 420, 456, 470), fill="#ddd8cc")  # floor shadow
    outline = "#333333"
    if shape in ("shoe", "boot"):
        draw.rounded_rectangle((96, 250 if shape == "shoe" else 150, 300, 420), 40, fill=color)
        draw.rounded_rectangle((96, 330, 440, 420), 45, fill=color, outline=outline, width=6)
        draw.rectangle((96, 405, 440, 425), fill="#fafafa")
    elif shape in ("mug", "candle", "bottle", "tube"):
        widths = {"mug": (136, 336), "candle": (156, 356), "bottle": (196, 316), "tube": (216, 296)}
        left, right = widths[shape]
        top = 120 if shape in ("bottle", "tube") else 200
        draw.rounded_rectangle((left, top, right, 430), 24, fill=color, outline=outline, width=6)
        if shape == "mug":
            draw.arc((300, 250, 400, 370), -90, 90, fill=outline, width=18)
        if shape == "candle":
            draw.ellipse((240, 140, 272, 195), fill="#ffb400")
        if shape == "bottle":
            draw.rectangle((226, 80, 286, 125), fill=outline)
    elif shape in ("glasses",):
        draw.ellipse((90, 210, 240, 330), fill=color, outline=outline, width=8)
        draw.ellipse((272, 210, 422, 330), fill=color, outline=outline, width=8)
        draw.line((240, 260, 272, 260), fill=outline, width=10)
    elif shape in ("headphones",):
        draw.arc((110, 100, 402, 400), 180, 360, fill=outline, width=22)
        draw.rounded_rectangle((90, 250, 170, 400), 30, fill=color)
        draw.rounded_rectangle((342, 250, 422, 400), 30, fill=color)
    elif shape in ("watch",):
        draw.rectangle((216, 80, 296, 432), fill=outline)
        draw.rounded_rectangle((166, 166, 346, 346), 40, fill=color, outline="#cccccc", width=10)
    elif shape in ("lamp",):
        draw.polygon([(176, 110), (336, 110), (396, 240), (116, 240)], fill=color)
        draw.rectangle((246, 240, 266, 400), fill=outline)
        draw.rounded_rectangle((176, 400, 336, 430), 10, fill=outline)
    else:  # bag, pillow, wallet, towel, speaker, scarf, mat, shirt
        draw.rounded_rectangle((116, 170, 396, 430), 36, fill=color, outline=outline, width=6)
        if shape == "bag":
            draw.arc((176, 80, 336, 260), 180, 360, fill=outline, width=14)
        if shape == "speaker":
            draw.ellipse((186, 230, 326, 370), fill="#222222", outline="#eeeeee", width=8)
        if shape == "shirt":
            draw.polygon([(116, 170), (56, 250), (116, 290)], fill=color)
            draw.polygon([(396, 170), (456, 250), (396, 290)], fill=color)
    return image
