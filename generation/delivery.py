"""A merchant's stored ads: listing, links and verified downloads (CLI and API).

Another merchant's asset answers exactly like a missing one, so ids reveal nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from composer.defaults import DEFAULT_FORMAT, DEFAULT_LOCALE, DEFAULT_TEMPLATE
from generation.assets import assets_for_renders, find_asset, list_assets
from generation.jobs import usage_for_renders
from storage.errors import AdreelError
from storage.objects import StorageError, sha256_file
from storage.services import Services


class UnknownAsset(AdreelError):
    def __init__(self, merchant_id: str, asset_id: int) -> None:
        super().__init__(f"merchant {merchant_id} has no asset {asset_id}")


class DownloadExists(AdreelError):
    def __init__(self, target: Path, asset_id: int) -> None:
        super().__init__(
            f"{target} already exists with other content; asset {asset_id} was not downloaded "
            "(--overwrite replaces it)"
        )


def _with_material(asset: dict) -> dict:
    """The asset with the material it is of: ``template``, ``format``, ``language``,
    ``material_variant`` (the campaign's variant number) and ``profile``; jobs stored
    before a field existed have its default."""
    found = {
        **asset,
        "template": asset["material_template"] or DEFAULT_TEMPLATE,
        "format": asset["format"] or DEFAULT_FORMAT,
        "language": asset["language"] or DEFAULT_LOCALE,
    }
    del found["material_template"]
    return found


def merchant_assets(services: Services, merchant_id: str, campaign_id: str | None = None):
    """The merchant's assets, newest first, each with its material (``_with_material``)
    and its ``location`` in the store.

    The store is opened first: a listing is only useful if the files are reachable."""
    store = services.store
    with services.db.connection() as conn:
        assets = list_assets(conn, merchant_id, campaign_id)
    return [{**_with_material(a), "location": store.location(a["object_key"])} for a in assets]


def asset_of(services: Services, merchant_id: str, asset_id: int) -> dict:
    with services.db.connection() as conn:
        asset = find_asset(conn, merchant_id, asset_id)
    if asset is None:
        raise UnknownAsset(merchant_id, asset_id)
    return _with_material(asset)


def material_file_name(asset: dict) -> str:
    """``product-template-format-language-vN-profile-kind.ext``: two ads of one product
    (another language, variant or profile) never share a name."""
    parts = [
        asset["product_id"],
        asset["template"],
        asset["format"],
        asset["language"],
        f"v{asset['material_variant']}",
        asset["profile"],
        asset["kind"],
    ]
    stem = "-".join(re.sub(r"[^A-Za-z0-9._]+", "_", str(part)).strip("._") for part in parts)
    return stem + Path(asset["object_key"]).suffix


def asset_url(services: Services, merchant_id: str, asset_id: int, expires_s: int) -> str:
    """A presigned GET link (a local file link does not expire)."""
    asset = asset_of(services, merchant_id, asset_id)
    return services.store.url(
        asset["object_key"], expires_s, download_name=material_file_name(asset)
    )


def download_asset(
    services: Services, merchant_id: str, asset_id: int, directory: Path, overwrite: bool = False
) -> tuple[Path, str]:
    """Download into ``directory`` as ``material_file_name`` through a ``.part`` file,
    verified against the stored SHA-256; a mismatch leaves nothing behind.

    Returns the file and what happened: ``written``, ``unchanged`` (the same content was
    already there) or ``replaced`` (``overwrite``); other content already under that
    name is never replaced silently: without ``overwrite`` it raises ``DownloadExists``."""
    asset = asset_of(services, merchant_id, asset_id)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / material_file_name(asset)
    outcome = "written"
    if target.exists():
        if sha256_file(target) == asset["sha256"]:
            return target, "unchanged"
        if not overwrite:
            raise DownloadExists(target, asset_id)
        outcome = "replaced"
    partial = target.with_name(target.name + ".part")
    services.store.download(asset["object_key"], partial)
    actual = sha256_file(partial)
    if actual != asset["sha256"]:
        partial.unlink()
        raise StorageError(
            f"asset {asset_id}: checksum mismatch (expected {asset['sha256']}, got {actual}); "
            "the download was discarded"
        )
    partial.replace(target)
    return target, outcome


def rendered_assets(services: Services, request_hashes: list[str]) -> list[dict]:
    """What these renders stored: each asset with its location (the demo's summary)."""
    with services.db.connection() as conn:
        assets = assets_for_renders(conn, request_hashes)
    return [
        {
            "asset_id": asset["asset_id"],
            "product_id": asset["product_id"],
            "kind": asset["kind"],
            "variant": asset["variant"],
            "object_key": asset["object_key"],
            "location": services.store.location(asset["object_key"]),
            "width": asset["width"],
            "height": asset["height"],
            "created_at": asset["created_at"].isoformat(),
        }
        for asset in assets
    ]


def metered_tokens(services: Services, request_hashes: list[str]) -> int:
    """Tokens these renders were metered (already-done renders count once)."""
    with services.db.connection() as conn:
        return sum(row["tokens"] for row in usage_for_renders(conn, request_hashes))
