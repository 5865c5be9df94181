"""Feed readers: each turns one file format into chunks of the canonical schema.

A chunk is a pandas DataFrame of strings (None where missing) with the canonical
columns and ``_row``, the record's row number in the source (the header is row 1, so a
spreadsheet user finds row 2 on line 2; for XML and JSON Lines, the item's position).
Files are streamed in chunks; only Shopify exports, whose products span rows, are
grouped whole.
"""

from __future__ import annotations

import codecs
import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from catalog.errors import CatalogError
from catalog.schema import (
    CANONICAL,
    FORMATS,
    META_MARKERS,
    REQUIRED,
    SHOPIFY_CLASSIC,
    SHOPIFY_NEW,
    SHOPIFY_REQUIRED,
    canonical_header,
)

SAMPLE_BYTES = 64 * 1024
ARROW_BLOCK_BYTES = 4 * 2**20
GOOGLE_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"


def sniff_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 by its BOM, else Windows-1252/Latin-1."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if not sample:
        raise CatalogError(path, 0, "-", "the file is empty (0 bytes)")
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample:
        raise CatalogError(path, 0, "-", "this is a binary file, not a text catalog")
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # a character cut by the sample's end
            return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return "parquet"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    encoding = sniff_encoding(path)
    with open(path, encoding=encoding, errors="replace") as handle:
        head = handle.read(4096)
    if head.lstrip().startswith("<"):
        return "google_xml"
    if head.lstrip().startswith("{"):
        return "jsonl"
    header = _header(path, encoding)
    names = {name.strip() for name in header}
    if {"Handle", "URL handle"} & names and "Title" in names:
        return "shopify"
    # Meta's own column names, before aliasing (fb_product_category maps to product_type).
    if {name.strip().lstrip("\ufeff").lower().replace(" ", "_") for name in header} & META_MARKERS:
        return "meta"
    canonical = {canonical_header(name) for name in header}
    if canonical & set(REQUIRED):  # a Google feed; the reader names what is missing
        return "google"
    raise CatalogError(
        path,
        1,
        "header",
        f"unknown columns {sorted(names)[:8]}; expected a Google/Meta feed (id, title, "
        "price, link, image_link, …), a Shopify export (Handle or URL handle, Title, "
        "Variant Price or Price, …), JSON Lines or Parquet",
    )


def _delimiter(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        first = handle.readline()
    return "\t" if first.count("\t") >= first.count(",") else ","


def require_columns(path: Path, names: list[str]) -> None:
    """Refuse a file whose columns (after aliases) lack a required one, naming the missing
    columns and the ones adreel did not recognise (often the same column, renamed)."""
    canonical = [canonical_header(name) for name in names]
    missing = [column for column in REQUIRED if column not in canonical]
    if not missing:
        return
    unrecognised = [
        name.strip().lstrip("\ufeff")
        for name, column in zip(names, canonical, strict=True)
        if column not in CANONICAL and name.strip()
    ]
    _refuse_columns(path, missing, unrecognised)


def _refuse_columns(path: Path, missing: list[str], unrecognised: list[str]) -> None:
    shown = ", ".join(unrecognised[:12]) + (", …" if len(unrecognised) > 12 else "")
    raise CatalogError(
        path,
        1,
        "header",
        f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)}; "
        f"unrecognised columns: {shown or 'none'} (rename the column to the name adreel "
        "expects; nothing was recorded)",
    )


def _header(path: Path, encoding: str) -> list[str]:
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        return next(csv.reader(handle, delimiter=_delimiter(path, encoding)), [])


def read_chunks(
    path: Path, fmt: str, chunk_rows: int, default_currency: str | None
) -> Iterator[pd.DataFrame]:
    if fmt in ("google", "meta"):
        return _read_delimited(path, chunk_rows)
    if fmt == "shopify":
        return _read_shopify(path, chunk_rows, default_currency)
    if fmt == "google_xml":
        return _read_xml(path, chunk_rows)
    if fmt == "jsonl":
        return _read_jsonl(path, chunk_rows)
    if fmt == "parquet":
        return _read_parquet(path, chunk_rows)
    raise CatalogError(path, 0, "format", f"unknown format {fmt!r}; choose one of {FORMATS}")


def _canonical_frame(records: pd.DataFrame, first_row: int) -> pd.DataFrame:
    frame = records.reindex(columns=CANONICAL)
    frame = frame.astype(object).where(frame.notna(), None)
    frame.insert(0, "_row", range(first_row, first_row + len(frame)))
    return frame


def _delimited_frame(
    names: list[str], field: Callable[[int], np.ndarray], index: pd.Index, first_row: int
) -> pd.DataFrame:
    """``_canonical_frame`` of a parsed chunk of strings (``field(position)``: that
    column's values), the first of a repeated column kept and empty fields as None, built
    once from its columns instead of three copies."""
    n = len(index)
    parsed: dict[str, np.ndarray] = {}
    for position, name in enumerate(names):
        if name in CANONICAL and name not in parsed:
            values = field(position)
            values[values == ""] = None
            parsed[name] = values
    absent = np.full(n, None, dtype=object)
    columns = {name: parsed.get(name, absent) for name in CANONICAL}
    frame = pd.DataFrame(columns, index=index, dtype=object)  # not inferred as str
    frame.insert(0, "_row", range(first_row, first_row + n))
    return frame


def _read_delimited(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    encoding = sniff_encoding(path)
    header = _header(path, encoding)
    require_columns(path, header)
    columns = [canonical_header(name) for name in header]
    delimiter = _delimiter(path, encoding)
    done = 0  # records yielded; pandas takes over after them if Arrow cannot go on
    # (a repeated column name: pandas refuses the file, as it always has)
    if len(set(columns)) == len(columns) and _plain_utf8(path, encoding):
        try:
            for chunk in _arrow_chunks(path, delimiter, len(columns), chunk_rows):
                index = pd.RangeIndex(done, done + chunk.num_rows)

                def field(position: int, chunk=chunk) -> np.ndarray:
                    return _python_strings(chunk.column(position))

                yield _delimited_frame(columns, field, index, done + 2)
                done += chunk.num_rows
            if done:
                return  # (no records at all: pandas' one empty chunk, as before)
        except pa.ArrowInvalid:  # a row of another width, bad UTF-8: pandas says what
            pass
    skipped = 0
    for chunk in _pandas_chunks(path, encoding, delimiter, columns, chunk_rows):
        if skipped < done:  # Arrow's chunks, already yielded: the same rows, the same sizes
            skipped += len(chunk)
            continue

        def field(position: int, chunk=chunk) -> np.ndarray:
            return chunk.iloc[:, position].to_numpy(dtype=object, copy=True)

        yield _delimited_frame(columns, field, chunk.index, skipped + 2)
        skipped += len(chunk)


def _python_strings(column: pa.ChunkedArray) -> np.ndarray:
    """The column as Python strings, a value that repeats much as one object, as pandas'
    parser makes them: less memory, and a string caches its hash and equals itself at a
    glance when later checks factorise it. Whether values repeat is judged from the first
    thousand: encoding a column of distinct values (ids, titles, links) costs twice what
    it saves."""
    values = column.combine_chunks()
    sample = values.slice(0, 1000)
    if 2 * len(pc.unique(sample)) > len(sample):
        return values.to_numpy(zero_copy_only=False)
    encoded = pc.dictionary_encode(values)
    return encoded.dictionary.to_numpy(zero_copy_only=False)[encoded.indices.to_numpy()]


def _plain_utf8(path: Path, encoding: str) -> bool:
    """Whether Arrow's CSV reader reads the file as pandas' does: UTF-8 without quotes,
    carriage returns or NUL bytes, where every line is a record and every delimiter
    separates fields. Rows of the wrong width stop Arrow, and pandas reads the rest."""
    if encoding not in ("utf-8", "utf-8-sig"):
        return False
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            if b'"' in block or b"\r" in block or b"\x00" in block:
                return False
    return True


def _arrow_chunks(path: Path, delimiter: str, width: int, chunk_rows: int) -> Iterator[pa.Table]:
    """The file's records after the header as tables of ``chunk_rows`` text columns, parsed
    by Arrow's C++ reader (in parallel, without the GIL) instead of pandas' tokenizer and
    its Python strings; empty lines skipped as pandas skips them.

    The file is handed to Arrow a block of whole lines at a time: its streaming reader
    reads far ahead (most of a 200 MB file before the first batch)."""
    pending: list[pa.Table] = []
    held = 0
    for table in _arrow_blocks(path, delimiter, width):
        pending.append(table)
        held += table.num_rows
        while held >= chunk_rows:
            joined = pa.concat_tables(pending)
            yield joined.slice(0, chunk_rows)
            pending, held = [joined.slice(chunk_rows)], held - chunk_rows
    if held:
        yield pa.concat_tables(pending)


def _arrow_blocks(path: Path, delimiter: str, width: int) -> Iterator[pa.Table]:
    names = [f"f{i}" for i in range(width)]  # fields by position
    options = {
        "read_options": pa_csv.ReadOptions(column_names=names),
        "parse_options": pa_csv.ParseOptions(delimiter=delimiter, quote_char=False),
        "convert_options": pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    }
    with open(path, "rb") as handle:
        handle.readline()  # the header (no quotes here: one line)
        rest = b""
        while block := handle.read(ARROW_BLOCK_BYTES):
            lines = rest + block
            end = lines.rfind(b"\n") + 1
            rest = lines[end:]
            if end:
                yield pa_csv.read_csv(pa.py_buffer(lines[:end]), **options)
        if rest:
            yield pa_csv.read_csv(pa.py_buffer(rest), **options)


def _pandas_chunks(
    path: Path, encoding: str, delimiter: str, columns: list[str], chunk_rows: int
) -> Iterator[pd.DataFrame]:
    try:
        yield from pd.read_csv(
            path,
            sep=delimiter,
            dtype=object,  # Python strings as parsed: no Arrow strings to convert back
            keep_default_na=False,
            encoding=encoding,
            chunksize=chunk_rows,
            names=columns,
            header=0,
            quoting=csv.QUOTE_MINIMAL,
            on_bad_lines="error",
            engine="c",
        )
    except UnicodeDecodeError as exc:
        raise CatalogError(path, 0, "-", f"not valid {encoding} text ({exc.reason})") from None
    except pd.errors.ParserError as exc:
        raise CatalogError(path, 0, "-", f"cannot parse as a delimited file: {exc}") from None


def _read_shopify(
    path: Path, chunk_rows: int, default_currency: str | None
) -> Iterator[pd.DataFrame]:
    """One product per variant; rows sharing a handle carry its variants and images."""
    encoding = sniff_encoding(path)
    rows = pd.read_csv(
        path, sep=_delimiter(path, encoding), dtype=str, keep_default_na=False, encoding=encoding
    )
    rows.columns = [c.strip() for c in rows.columns]
    names = SHOPIFY_NEW if "URL handle" in rows.columns else SHOPIFY_CLASSIC
    missing = [names[key] for key in SHOPIFY_REQUIRED if names[key] not in rows.columns]
    if missing:
        known = {*SHOPIFY_NEW.values(), *SHOPIFY_CLASSIC.values()}
        unrecognised = [
            c for c in rows.columns if c not in known and not c.lower().startswith("option")
        ]
        _refuse_columns(path, missing, unrecognised)
    col = {
        key: rows[header] if header in rows.columns else pd.Series([""] * len(rows))
        for key, header in names.items()
    }
    options = _shopify_options(rows)
    products, row_numbers = [], []
    current: dict | None = None
    for index in range(len(rows)):
        handle = col["handle"].iat[index].strip()
        if not handle:
            continue
        if current is None or current["handle"] != handle:
            current = {
                "handle": handle,
                "title": col["title"].iat[index],
                "body": col["body"].iat[index],
                "vendor": col["vendor"].iat[index],
                "category": col["category"].iat[index],
                "type": col["type"].iat[index],
                "images": [],
                "variants": [],
            }
        image = col["image"].iat[index].strip()
        if image and image not in current["images"]:
            current["images"].append(image)
        if col["price"].iat[index].strip():
            current["variants"].append((index, {k: col[k].iat[index] for k in col}, options[index]))
            if len(current["variants"]) == 1:
                products.append(current)
    records = []
    for product in products:
        for number, (index, variant, variant_options) in enumerate(product["variants"], 1):
            records.append(
                _shopify_record(product, variant, variant_options, number, default_currency)
            )
            row_numbers.append(index + 2)
    frame = _canonical_frame(pd.DataFrame(records, columns=CANONICAL), 2)
    frame["_row"] = row_numbers
    for start in range(0, len(frame), chunk_rows):
        yield frame.iloc[start : start + chunk_rows]


def _shopify_options(rows: pd.DataFrame) -> list[dict[str, str]]:
    lowered = {c.lower(): c for c in rows.columns}
    found = []
    for index in range(len(rows)):
        values = {}
        for n in (1, 2, 3):
            name_col, value_col = lowered.get(f"option{n} name"), lowered.get(f"option{n} value")
            if name_col and value_col and rows[value_col].iat[index].strip():
                values[rows[name_col].iat[index].strip().lower() or f"option{n}"] = (
                    rows[value_col].iat[index].strip()
                )
        found.append(values)
    return found


def _shopify_record(
    product: dict, variant: dict, options: dict, number: int, currency: str | None
) -> dict:
    price, compare_at = variant["price"].strip(), variant["compare_at"].strip()
    on_sale = bool(compare_at) and _number(compare_at) > _number(price)
    suffix = f" {currency}" if currency else ""
    tracked = variant["inventory_tracker"].strip()
    quantity = variant["inventory"].strip()
    in_stock = (
        not tracked
        or not quantity
        or _number(quantity) > 0
        or variant["inventory_policy"].strip().lower() in ("continue", "true")
    )
    images = product["images"]
    image = variant["variant_image"].strip() or (images[0] if images else None)
    return {
        "id": variant["sku"].strip() or f"{product['handle']}-{number}",
        "title": product["title"] + (" - " + " / ".join(options.values()) if options else ""),
        "description": product["body"],
        "image_link": image,
        "additional_image_link": [i for i in images if i != image] or None,
        "price": (compare_at if on_sale else price) + suffix,
        "sale_price": (price + suffix) if on_sale else None,
        "availability": "in_stock" if in_stock else "out_of_stock",
        "brand": product["vendor"] or None,
        "gtin": variant["barcode"].strip() or None,
        "item_group_id": product["handle"],
        "google_product_category": product["category"] or None,
        "product_type": product["type"] or None,
        "color": options.get("color") or options.get("colour"),
        "size": options.get("size"),
        "material": options.get("material"),
    }


def _number(text: str) -> Decimal:
    """Shopify's plain numbers (prices without currency, stock counts), for comparing."""
    try:
        return Decimal(text.replace(",", "").strip() or "0")
    except InvalidOperation:
        return Decimal(0)


def _read_xml(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """RSS 2.0 (<item>) and Atom (<entry>) feeds with Google's g: namespace, streamed."""
    records: list[dict] = []
    item_number = 0
    tags: set[str] = set()  # of the first chunk's items, to name missing columns
    try:
        for _, element in ET.iterparse(path, events=("end",)):
            if _local(element.tag) not in ("item", "entry"):
                continue
            item_number += 1
            if item_number <= chunk_rows:
                tags.update(_XML_AS.get(name, name) for name in map(_local_of, element))
            records.append(_xml_record(element))
            element.clear()
            if len(records) == chunk_rows:
                if item_number == chunk_rows:
                    require_columns(path, sorted(tags))
                yield _canonical_frame(pd.DataFrame(records), item_number - len(records) + 1)
                records = []
    except ET.ParseError as exc:
        line, column = exc.position
        raise CatalogError(
            path,
            item_number + 1,
            "-",
            f"XML is cut off or malformed at line {line}, column {column}",
        ) from None
    if records:
        if item_number <= chunk_rows:
            require_columns(path, sorted(tags))
        yield _canonical_frame(pd.DataFrame(records), item_number - len(records) + 1)


_XML_AS = {"summary": "description", "content": "description"}  # Atom's names


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _local_of(element: ET.Element) -> str:
    return _local(element.tag)


def _xml_record(item: ET.Element) -> dict:
    record: dict = {}
    for child in item:
        name = canonical_header(_local(child.tag))
        if name == "additional_image_link":
            record.setdefault(name, []).append((child.text or "").strip())
        elif name == "shipping":
            record.setdefault(name, []).append(
                {_local(part.tag): (part.text or "").strip() for part in child}
            )
        elif name == "link" and child.get("href"):  # Atom
            record.setdefault("link", child.get("href"))
        elif name in ("summary", "content"):
            record.setdefault("description", (child.text or "").strip())
        elif name in CANONICAL and name not in record:
            record[name] = (child.text or "").strip() or None
    return record


def _read_jsonl(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    records: list[dict] = []
    row = 0
    keys: set[str] | None = set()  # of the first chunk's records, to name missing columns
    with open(path, encoding=sniff_encoding(path)) as handle:
        for row, line in enumerate(handle, start=1):
            if not line.strip():
                records.append({})
                continue
            try:
                record = json.loads(line, parse_float=str, parse_int=str)
            except json.JSONDecodeError as exc:
                raise CatalogError(path, row, "-", f"not valid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise CatalogError(path, row, "-", "each line must be a JSON object")
            if keys is not None:
                keys.update(record)
            records.append({canonical_header(k): v for k, v in record.items()})
            if len(records) == chunk_rows:
                if keys is not None:
                    require_columns(path, sorted(keys))
                    keys = None
                yield _canonical_frame(pd.DataFrame(records), row - len(records) + 1)
                records = []
    if records:
        if keys is not None:
            require_columns(path, sorted(keys))
        yield _canonical_frame(pd.DataFrame(records), row - len(records) + 1)


def _read_parquet(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:
        raise CatalogError(path, 0, "-", f"not a Parquet file ({exc})") from None
    require_columns(path, parquet.schema_arrow.names)
    row = 1
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        frame = batch.to_pandas()
        frame.columns = [canonical_header(c) for c in frame.columns]
        frame = frame.map(lambda v: None if v is None else (v if isinstance(v, list) else str(v)))
        yield _canonical_frame(frame, row)
        row += len(frame)
