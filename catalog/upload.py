"""Catalog upload: any feed file in, products upserted, bad rows quarantined with reasons.

For merchants (through ``adreel catalog upload``) and for scheduled pulls (the
``ingest_catalog`` flow). The file is streamed in chunks: parsed, normalised, validated
by the Great Expectations suite, images fetched, then COPied into staging (by a second
thread, while the next chunk is checked); set-based statements write the products at the
end (an update of the changed ones, an insert of the new ones). It all happens in one
transaction, so bad input writes nothing partial, and uploading the same file again, the
same way (format, currency, image mode, upload mode), changes nothing and says so.

A ``full`` upload is the whole catalog: products it does not list are marked removed.
An ``update`` upserts only its rows (the fixed rows of a rejected-rows CSV, say).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from catalog.errors import CatalogError, wrap_exceptions
from catalog.images import ImageProblem, fetch_images
from catalog.normalize import normalize_chunk
from catalog.products import products_pending_images, set_product_image
from catalog.readers import detect_format, read_chunks
from catalog.schema import FORMATS, IMAGE_MODES, UPLOAD_MODES
from catalog.uploads import (
    accepted_count,
    apply_upload,
    begin_upload,
    copy_staging,
    keep_rejected_rows,
    quarantine,
    record_upload,
    staging_csv,
)
from catalog.validation import Failure, catalog_suite
from storage.currencies import is_currency
from storage.merchants import ensure_merchant, merchant_currency
from storage.objects import product_image_key, put_bytes, sha256_file
from storage.services import Services
from storage.webhooks import queue_event

CHUNK_ROWS = 100_000
ADDITIONAL_IMAGES = 2  # fetched per product: the motion tier shows up to three images
MAX_QUARANTINED_VALUE = 500
# What decides an upload's outcome besides its bytes: a replay must match all of it.
REPLAY_KEY = ("file_sha256", "format", "currency", "images", "mode")


@dataclass
class UploadResult:
    merchant_id: str
    file: str
    format: str
    version: int  # the new version, or (a replay) the version this upload matched
    replayed: bool
    mode: str = "full"
    currency: str | None = None  # for prices without one
    rows_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates_collapsed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rule_counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def upload_catalog(
    services: Services,
    merchant_id: str,
    path: Path,
    fmt: str | None = None,
    currency: str | None = None,
    images: str = "upload",
    chunk_rows: int = CHUNK_ROWS,
    on_rows: Callable[[int], None] | None = None,
    mode: str = "full",
) -> UploadResult:
    if not path.is_file():
        raise CatalogError(path, 0, "-", "no such file")
    if fmt is not None and fmt not in FORMATS:
        raise CatalogError(path, 0, "format", f"unknown format {fmt!r}; choose one of {FORMATS}")
    if images not in IMAGE_MODES:
        raise CatalogError(path, 0, "images", f"choose one of {IMAGE_MODES}")
    if mode not in UPLOAD_MODES:
        raise CatalogError(path, 0, "mode", f"choose one of {UPLOAD_MODES}")
    if currency is not None:
        currency = currency.strip().upper()
        if not is_currency(currency):
            raise CatalogError(path, 0, "currency", f"{currency!r} is not an ISO 4217 code")
    fmt = fmt or detect_format(path)
    file_sha = sha256_file(path)
    with wrap_exceptions(path), services.db.connection() as conn, conn.transaction():
        ensure_merchant(conn, merchant_id, merchant_id)
        latest = begin_upload(conn, merchant_id)
        default_currency = currency or merchant_currency(conn, merchant_id)
        this_upload = dict(
            zip(REPLAY_KEY, (file_sha, fmt, default_currency, images, mode), strict=True)
        )
        if latest and all(latest[key] == this_upload[key] for key in REPLAY_KEY):
            return _replayed(latest, path)
        result = UploadResult(
            merchant_id,
            str(path),
            fmt,
            (latest["version"] if latest else 0) + 1,
            replayed=False,
            mode=mode,
            currency=default_currency,
        )
        rules: Counter[str] = Counter()
        id_hashes: list[np.ndarray] = []
        # One chunk is written to PostgreSQL by a second thread while this one checks the
        # next: the writer waits on PostgreSQL parsing the COPY (without the GIL), and the
        # connection still does one thing at a time (the next write waits for this one).
        with ThreadPoolExecutor(1, thread_name_prefix="catalog-copy") as writer:
            writing: Future | None = None
            for raw in read_chunks(path, fmt, chunk_rows, default_currency):
                raw = raw.reset_index(drop=True)
                staged, rejected = _check_chunk(
                    raw, default_currency, path, images, services, merchant_id
                )
                chunk = (staging_csv(staged), rejected, list(_records(raw, staged)))
                id_hashes.append(_id_hashes(staged["product_id"]))
                rules.update(row[2] for row in rejected)
                if writing:
                    writing.result()
                writing = writer.submit(_write_chunk, conn, merchant_id, result.version, *chunk)
                result.rows_read += len(raw)
                if on_rows:
                    on_rows(len(raw))
            if writing:
                writing.result()
        if result.rows_read == 0:
            raise CatalogError(
                path, 1, "-", "the file has a header but no products; nothing changed"
            )
        applied = apply_upload(
            conn,
            merchant_id,
            result.version,
            remove_unlisted=mode == "full",
            ids_may_repeat=_may_repeat(id_hashes),
        )
        rules["duplicate_id"] += applied["duplicate_rows"]
        result.accepted = accepted_count(conn)
        result.duplicates_collapsed = applied["duplicates_collapsed"]
        result.rejected = result.rows_read - result.accepted - result.duplicates_collapsed
        result.created, result.updated = applied["created"], applied["updated"]
        result.unchanged = result.accepted - result.created - result.updated
        result.removed = applied["removed"]
        result.rule_counts = {rule: count for rule, count in sorted(rules.items()) if count}
        record_upload(conn, {**result.as_dict(), **this_upload, "file_name": path.name})
        # webhooks: queued with the upload's commit, whoever started it (CLI, API, flow)
        counts = {key: getattr(result, key) for key in ("rows_read", "accepted", "rejected")}
        event = {"version": result.version, "file": path.name, **counts}
        queue_event(conn, merchant_id, "catalog.processed", str(result.version), event)
    return result


def _write_chunk(
    conn, merchant_id: str, version: int, csv: memoryview, rejected: list, records: list
) -> None:
    """A checked chunk into PostgreSQL: its staging rows, quarantine and rejected rows."""
    copy_staging(conn, csv)
    quarantine(conn, merchant_id, version, rejected)
    keep_rejected_rows(conn, merchant_id, version, records)


def _id_hashes(ids: pd.Series) -> np.ndarray:
    """64-bit hashes of a chunk's product ids, to tell whether an id repeats in the file."""
    return pd.util.hash_array(ids.dropna().to_numpy(dtype=object), categorize=False)


def _may_repeat(id_hashes: list[np.ndarray]) -> bool:
    """Whether a hash occurs twice. Equal ids hash equal, so False means no id repeats and
    PostgreSQL's duplicate checks would find nothing; a collision only means they run."""
    hashes = np.sort(np.concatenate([np.empty(0, np.uint64), *id_hashes]))
    # neighbours after a sort: numpy's hash-based ``unique`` took 0.8 s for a million
    return bool((hashes[1:] == hashes[:-1]).any())


def _replayed(latest: dict, path: Path) -> UploadResult:
    """The same file uploaded the same way as the latest version: nothing read, nothing
    changed, every count zero; ``version`` is the version it matched."""
    return UploadResult(
        latest["merchant_id"],
        str(path),
        latest["format"],
        latest["version"],
        replayed=True,
        mode=latest["mode"],
        currency=latest["currency"],
    )


def _check_chunk(
    raw: pd.DataFrame,
    currency: str | None,
    path: Path,
    images: str,
    services: Services,
    merchant_id: str,
) -> tuple[pd.DataFrame, list[tuple]]:
    """Normalise and validate a chunk; return its staging rows and its quarantine rows."""
    rows = normalize_chunk(raw, currency)
    if currency is None and rows["_no_currency"].any():
        i = rows.index[rows["_no_currency"].astype(bool)][0]
        field = "price" if raw.at[i, "price"] and rows.at[i, "price"] is None else "sale_price"
        raise CatalogError(
            path,
            int(rows.at[i, "_row"]),
            field,
            f"{raw.at[i, field]!r} has no currency and merchant {merchant_id} has no default "
            f"currency; upload again with --currency (e.g. --currency EUR), or set one: "
            f"adreel merchant set {merchant_id} --currency EUR",
        )
    for column in ("description", "price", "sale_price", "availability", "condition", "gtin"):
        rows[f"given_{column}"] = raw[column]
    failures: dict[int, list[Failure]] = defaultdict(list)
    for failure in catalog_suite().failures(rows):
        failures[failure.index].append(failure)
    rows["image_key"], rows["image_status"] = None, "none"
    rows["additional_image_keys"] = "[]"
    has_image = rows["image_link"].notna()
    if images == "defer":
        rows.loc[has_image, "image_status"] = "pending"
    else:
        wanted = [i for i in rows.index[has_image] if i not in failures]
        _attach_images(rows, wanted, path.parent, services, merchant_id, failures)
    rows["accepted"] = [i not in failures for i in rows.index]
    rows["row_number"] = rows["_row"]
    rejected = [
        (
            int(rows.at[i, "_row"]),
            raw.at[i, "id"],
            failure.rule,
            failure.field,
            _shown(raw.at[i, failure.field] if failure.field in raw else rows.at[i, "image_link"]),
        )
        for i, found in failures.items()
        for failure in found
    ]
    return rows, rejected


def _attach_images(
    rows: pd.DataFrame,
    wanted: list[int],
    base_dir: Path,
    services: Services,
    merchant_id: str,
    failures: dict[int, list[Failure]],
) -> None:
    if not wanted:
        return
    # the first additional images too, for the motion tier's scenes; one that cannot be
    # fetched is left out (the product is still whole without it)
    extra = {
        i: json.loads(rows.at[i, "additional_image_links"] or "[]")[:ADDITIONAL_IMAGES]
        for i in wanted
    }
    links = [rows.at[i, "image_link"] for i in wanted] + [x for i in wanted for x in extra[i]]
    fetched = fetch_images(links, base_dir)
    keys: dict[str, str] = {}
    for link, outcome in fetched.items():
        if not isinstance(outcome, ImageProblem):
            keys[link] = _store_png(services, merchant_id, outcome)
    for i in wanted:
        outcome = fetched[rows.at[i, "image_link"]]
        if isinstance(outcome, ImageProblem):
            failures[i].append(Failure(i, outcome.rule, "image_link"))
        else:
            rows.at[i, "image_key"] = keys[rows.at[i, "image_link"]]
            rows.at[i, "image_status"] = "ready"
            found = [keys[link] for link in extra[i] if link in keys]
            rows.at[i, "additional_image_keys"] = json.dumps(found)


def _store_png(services: Services, merchant_id: str, png: bytes) -> str:
    digest = hashlib.sha256(png).hexdigest()
    key = product_image_key(services.settings.s3_prefix, merchant_id, digest, "png")
    if not services.store.exists(key):
        put_bytes(services.store, key, png, "image/png", {"merchant": merchant_id})
    return key


def _records(raw: pd.DataFrame, staged: pd.DataFrame):
    """The rejected rows as the merchant wrote them (canonical names = Google's columns)."""
    for i in staged.index[~staged["accepted"].astype(bool)]:
        record = {k: v for k, v in raw.loc[i].items() if k != "_row" and v is not None}
        yield int(raw.at[i, "_row"]), record


def _shown(value: object) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:MAX_QUARANTINED_VALUE]


def fetch_pending_images(
    services: Services, merchant_id: str, base_dir: Path, batch: int = 500
) -> dict[str, int]:
    """Fetch images deferred at upload (``--images defer``); return ready and failed counts."""
    counts = {"ready": 0, "failed": 0}
    while True:
        with services.db.connection() as conn:
            pending = products_pending_images(conn, merchant_id, batch)
        if not pending:
            return counts
        extra = {p["product_id"]: p["additional_image_links"][:ADDITIONAL_IMAGES] for p in pending}
        links = [p["image_link"] for p in pending] + [x for e in extra.values() for x in e]
        fetched = fetch_images(links, base_dir)
        with services.db.connection() as conn, conn.transaction():
            for product in pending:
                outcome = fetched[product["image_link"]]
                if isinstance(outcome, ImageProblem):
                    set_product_image(conn, merchant_id, product["product_id"], None, str(outcome))
                    counts["failed"] += 1
                else:
                    key = _store_png(services, merchant_id, outcome)
                    more = tuple(  # as at upload: one that cannot be fetched is left out
                        _store_png(services, merchant_id, fetched[link])
                        for link in extra[product["product_id"]]
                        if not isinstance(fetched[link], ImageProblem)
                    )
                    set_product_image(conn, merchant_id, product["product_id"], key, None, more)
                    counts["ready"] += 1
