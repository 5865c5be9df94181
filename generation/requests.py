"""Render requests as data: the prompt, the seed and the content hash that names a render."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

NEGATIVE_PROMPT = "worst quality, blurry, jittery, distorted, watermark, text, logo"


def build_prompt(title: str, category: str | None, brand: str | None, style: str) -> str:
    """Describe the product shot from the product's own data and the template's style."""
    parts = [f"{style} of {title}"]
    if brand:
        parts.append(f"by {brand}")
    if category:
        parts.append(f"({category.split('>')[-1].strip().lower()})")
    return " ".join(parts) + ", studio lighting, smooth slow camera motion, product centred"


def seed_for(merchant_id: str, product_id: str, variant: int) -> int:
    digest = hashlib.sha256(f"{merchant_id}/{product_id}/{variant}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def request_hash(model: str, spec: Mapping[str, Any]) -> str:
    """Content hash of everything that decides the output: same hash, same ad."""
    canonical = json.dumps({"model": model, "spec": spec}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
