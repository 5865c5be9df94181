"""Product images: fetched from local paths, file:// or http(s), decoded and normalised.

Every format Pillow reads is accepted (JPEG including CMYK, PNG with alpha, WebP, AVIF
where Pillow has it, GIF's first frame); the result is an sRGB PNG. Fetching has a size
cap and a timeout, runs concurrently, and is cached by link within an upload.
"""

from __future__ import annotations

import io
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlparse

from PIL import Image, ImageOps, UnidentifiedImageError

from storage.images import to_srgb

MAX_IMAGE_BYTES = 20 * 1024 * 1024
TIMEOUT_S = 10
WORKERS = 8


class ImageProblem(Exception):
    """Why an image could not be used; quarantines its product with this reason."""

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(message)


def fetch_images(links: list[str], base_dir: Path) -> dict[str, bytes | ImageProblem]:
    """Fetch and normalise each distinct link; a failure is returned, never raised."""
    distinct = sorted(set(links))
    with ThreadPoolExecutor(WORKERS) as pool:
        results = pool.map(lambda link: _fetch_one(link, base_dir), distinct)
        return dict(zip(distinct, results, strict=True))


def _fetch_one(link: str, base_dir: Path) -> bytes | ImageProblem:
    try:
        return normalize_image(read_link(link, base_dir))
    except ImageProblem as problem:
        return problem


def read_link(link: str, base_dir: Path) -> bytes:
    parsed = urlparse(link)
    if parsed.scheme in ("http", "https"):
        try:
            with urllib.request.urlopen(link, timeout=TIMEOUT_S) as response:
                data = response.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise ImageProblem("image_fetch", f"cannot fetch {link}: {exc}") from None
    else:
        path = Path(unquote(parsed.path)) if parsed.scheme == "file" else base_dir / link
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_IMAGE_BYTES + 1)
        except OSError as exc:
            raise ImageProblem("image_fetch", f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem("image_too_large", f"{link} is over {MAX_IMAGE_BYTES >> 20} MB")
    return data


def normalize_image(data: bytes) -> bytes:
    """Decode any supported image and return it as an sRGB PNG (alpha kept)."""
    try:
        image = Image.open(io.BytesIO(data))
        image.seek(0)  # GIF and other animations: the first frame
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ImageProblem("image_decode", f"not a readable image ({exc})") from None
    image = ImageOps.exif_transpose(image)
    image = to_srgb(image)
    output = io.BytesIO()
    image.save(output, "PNG")
    return output.getvalue()
