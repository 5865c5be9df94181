"""Brand kits, one per merchant (``adreel brand set``).

Name, colours and call to action are columns; the logo and font files go to the object
store under content-addressed keys, written before the row (a row never points at a
missing file), so any worker can draw the kit. A kit is replaced whole; the same kit
again changes nothing. Renders read the kit in force when they compose.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from composer.brand import BrandKit, BrandKitError, load_brand_kit, parse_colour
from composer.images import load_image
from composer.queries import query
from storage.db import Database
from storage.errors import AdreelError
from storage.merchants import require_merchant
from storage.objects import ObjectStore, StorageError, asset_key, sha256_file
from storage.services import Services
from storage.settings import Settings

_EXTENSION = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass(frozen=True)
class BrandKitFields:
    """A checked kit, as a file gave it: colours as ``#rrggbb``, files as local paths."""

    name: str
    primary_colour: str
    secondary_colour: str
    call_to_action: str | dict[str, str] | None = None
    logo: Path | None = None
    font: Path | None = None


def read_kit_file(path: Path) -> BrandKitFields:
    """A kit file checked by the composer (every field, the logo decoded, the font
    opened), as the store keeps it; a bad file is one line naming the file and field."""
    try:
        kit = load_brand_kit(path)
    except BrandKitError as exc:
        raise AdreelError(" ".join(str(exc).split())) from None  # YAML errors span lines
    return BrandKitFields(
        name=kit.name,
        primary_colour=_hex(kit.primary),
        secondary_colour=_hex(kit.secondary),
        call_to_action=kit.call_to_action,
        logo=kit.logo_file,
        font=kit.font,
    )


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def set_brand_kit(services: Services, merchant_id: str, path: Path) -> tuple[dict[str, Any], bool]:
    """Check a kit file and store it as the merchant's kit: the row and whether it changed
    (the same kit again changes nothing)."""
    fields = read_kit_file(path)
    with services.db.connection() as conn, conn.transaction():
        return save_brand_kit(
            conn, services.store, services.settings.s3_prefix, merchant_id, fields
        )


def brand_kit(db: Database, merchant_id: str) -> dict[str, Any] | None:
    """The merchant's stored kit, or None (renders use the product's brand and defaults)."""
    with db.connection() as conn:
        require_merchant(conn, merchant_id)
        return get_brand_kit(conn, merchant_id)


def get_brand_kit(conn: psycopg.Connection, merchant_id: str) -> dict[str, Any] | None:
    return conn.execute(query("get_brand_kit"), {"merchant_id": merchant_id}).fetchone()


def save_brand_kit(
    conn: psycopg.Connection,
    store: ObjectStore,
    prefix: str,
    merchant_id: str,
    kit: BrandKitFields,
) -> tuple[dict[str, Any], bool]:
    """Store the kit's files (once each), then its row; return the row and whether it
    changed (False: the merchant already had exactly this kit; its row is untouched)."""
    require_merchant(conn, merchant_id)
    row: dict[str, Any] = {
        "merchant_id": merchant_id,
        "name": kit.name,
        "primary_colour": kit.primary_colour.lower(),
        "secondary_colour": kit.secondary_colour.lower(),
        "call_to_action": kit.call_to_action,
        "font_name": kit.font.name if kit.font else None,
    }
    files = {"logo": kit.logo, "font": kit.font}
    for what, path in files.items():
        digest = sha256_file(path) if path else None
        row[f"{what}_sha256"] = digest
        row[f"{what}_key"] = (
            asset_key(prefix, merchant_id, digest, f"brand-{what}", _extension(path))
            if path
            else None
        )
    row["content_digest"] = kit_digest(row)
    # Files first (each once): the same kit again also puts back a file the store lost.
    for what, path in files.items():
        if path and not store.exists(row[f"{what}_key"]):
            store.put_file(
                row[f"{what}_key"],
                path,
                mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                {"merchant": merchant_id, "brand-kit": what},
                download_name=f"{merchant_id}-{what}.{_extension(path)}",
                sha256=row[f"{what}_sha256"],
            )
    current = get_brand_kit(conn, merchant_id)
    if current is not None and current["content_digest"] == row["content_digest"]:
        return current, False
    params = {**row, "call_to_action": Jsonb(row["call_to_action"])}
    if row["call_to_action"] is None:
        params["call_to_action"] = None
    saved = conn.execute(query("upsert_brand_kit"), params).fetchone()
    # No row back: a concurrent `brand set` stored this same kit first.
    return saved or get_brand_kit(conn, merchant_id), saved is not None


def kit_digest(row: dict[str, Any]) -> str:
    """What decides how the kit draws: fields and file contents, not where files live."""
    content = {
        key: row[key]
        for key in (
            "name",
            "primary_colour",
            "secondary_colour",
            "call_to_action",
            "font_name",
            "font_sha256",
            "logo_sha256",
        )
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _extension(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    return ext if _EXTENSION.match(ext) else "bin"


class BrandKits:
    """Each merchant's stored brand kit, read once per batch; fonts are cached on disk
    by digest under ``$ADREEL_HOME/brand-fonts``, so a worker downloads each once."""

    def __init__(self, settings: Settings, db: Database, store: ObjectStore) -> None:
        self.font_dir = settings.home / "brand-fonts"
        self.db, self.store = db, store
        self.kits: dict[str, BrandKit] = {}

    def for_merchant(self, merchant_id: str, product_brand: str | None) -> BrandKit:
        if merchant_id not in self.kits:
            try:
                self.kits[merchant_id] = self._load(merchant_id)
            except StorageError as exc:
                raise StorageError(f"brand kit of {merchant_id}: {exc}") from exc
        kit = self.kits[merchant_id]
        # A kit without a name shows the product's brand, as renders without a kit do.
        return replace(kit, name=kit.name or product_brand or "")

    def _load(self, merchant_id: str) -> BrandKit:
        with self.db.connection() as conn:
            row = get_brand_kit(conn, merchant_id)
        if row is None:
            return BrandKit()
        logo = None
        if row["logo_key"]:
            logo = load_image(self.store.read(row["logo_key"]), f"logo of {merchant_id}")
        return BrandKit(
            name=row["name"],
            primary=parse_colour(row["primary_colour"], "primary_colour"),
            secondary=parse_colour(row["secondary_colour"], "secondary_colour"),
            logo=logo,
            font=self._font(row) if row["font_key"] else None,
            call_to_action=row["call_to_action"],
        )

    def _font(self, row: dict) -> Path:
        path = self.font_dir / f"{row['font_sha256']}{Path(row['font_key']).suffix}"
        if not path.is_file():
            self.font_dir.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.font_dir, suffix=".part")
            os.close(handle)
            partial = Path(name)
            try:
                self.store.download(row["font_key"], partial)
                if sha256_file(partial) != row["font_sha256"]:
                    raise StorageError(f"{row['font_key']} does not match its SHA-256")
                partial.replace(path)  # atomic: a concurrent reader sees all or nothing
            finally:
                partial.unlink(missing_ok=True)
        return path
