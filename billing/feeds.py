"""Finance input files (settlement reports here; attribution's orders, clicks, refunds and
FX rates): read and validate.

A file is CSV (with a header) or JSON Lines. Every column is read as text and checked
column by column with Arrow's vectorised kernels, so a million rows validate in about
a second; a failing check is located row by row only when it fails. Every error names
the file, the row (the line number a spreadsheet or editor shows: a CSV header is row 1)
and the field. A file with any bad row is refused whole: finance imports write all of a
file or none of it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from storage.currencies import known_currencies
from storage.errors import AdreelError

Kind = Literal["text", "decimal", "timestamp", "date", "count", "currency", "enum"]
DECIMAL = pa.decimal128(38, 12)
MAX_ERRORS = 100  # bad rows listed per refused file; the rest are counted
_PLAIN_DECIMAL = r"^[0-9]+(\.[0-9]{1,12})?$"
_COUNT = r"^[0-9]{1,9}$"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    required: bool = True
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class FeedSpec:
    """What one kind of finance file holds."""

    name: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


@dataclass(frozen=True)
class RowError:
    path: str
    row: int
    field: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: row {self.row}: {self.field}: {self.problem}"


class FeedError(AdreelError):
    """A file refused whole; ``errors`` holds the first rows that are wrong (by row).

    One bad row reads as one line; several read as a headline and one line per row:
    ``orders.csv: 3 bad rows; nothing was imported`` then ``  row 4: discount: …``
    (with ``… and N more`` past ``MAX_ERRORS``).
    """

    def __init__(self, errors: list[RowError], more: int = 0) -> None:
        self.errors, self.more = sorted(errors, key=lambda e: e.row), more
        if len(errors) == 1 and not more:
            super().__init__(str(errors[0]))
            return
        rows = len({e.row for e in errors})
        count = f"{rows} bad rows" if rows > 1 else "1 bad row"
        if rows < len(errors):
            count += f" ({len(errors)} problems)"
        if more:
            count = f"more than {count}"
        lines = [f"{errors[0].path}: {count}; nothing was imported"]
        lines += [f"  row {e.row}: {e.field}: {e.problem}" for e in self.errors]
        if more:
            lines.append(f"  … and {more} more")
        super().__init__("\n".join(lines))


class FileError(AdreelError):
    """A file that cannot be read at all (missing, not CSV/JSONL, missing columns)."""


@dataclass
class Feed:
    """A validated file: typed Arrow columns plus each row's number in the file."""

    path: str
    spec: FeedSpec
    table: pa.Table
    first_row: int  # the file row of the table's first row (2 for CSV: the header is 1)

    @property
    def rows(self) -> int:
        return self.table.num_rows


def read_feed(path: Path, spec: FeedSpec) -> Feed:
    """Read and validate a finance file; raise FeedError naming the bad rows."""
    table, first_row = _read_strings(path, spec)
    return validate_strings(str(path), spec, table, first_row)


def validate_strings(path: str, spec: FeedSpec, table: pa.Table, first_row: int) -> Feed:
    """Check a table of string columns named as in ``spec``; typed Feed or FeedError."""
    return Feed(path, spec, _validated(path, spec, table, first_row), first_row)


def _read_strings(path: Path, spec: FeedSpec) -> tuple[pa.Table, int]:
    """All spec columns as strings (missing optional ones as nulls), and row 1's number."""
    if not path.is_file():
        raise FileError(f"{path}: no such file")
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        table, first_row = _read_jsonl(path, spec), 1
    else:
        table, first_row = _read_csv(path, spec), 2
    missing = [c.name for c in spec.columns if c.required and c.name not in table.column_names]
    if missing:
        raise FileError(
            f"{path}: missing column(s) {', '.join(missing)}; a {spec.name} file has "
            f"{', '.join(c.name for c in spec.columns)}"
        )
    columns = {
        c.name: table[c.name].cast(pa.string())
        if c.name in table.column_names
        else pa.nulls(table.num_rows, pa.string())
        for c in spec.columns
    }
    return pa.table(columns), first_row


def _read_csv(path: Path, spec: FeedSpec) -> pa.Table:
    wanted = {c.name for c in spec.columns}
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=64 << 20),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in wanted},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except pa.ArrowInvalid as exc:
        raise FileError(f"{path}: not a readable CSV file: {exc}") from None
    return table.select([name for name in table.column_names if name in wanted])


def _read_jsonl(path: Path, spec: FeedSpec) -> pa.Table:
    """JSON Lines, read by the json module so that a bad line is named exactly."""
    values: dict[str, list[str | None]] = {c.name: [] for c in spec.columns}
    errors: list[RowError] = []
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line, parse_float=_refuse_float)
            except (json.JSONDecodeError, _FloatGiven) as exc:
                errors.append(RowError(str(path), number, "line", _json_problem(exc)))
                continue
            if not isinstance(record, dict):
                errors.append(RowError(str(path), number, "line", "is not a JSON object"))
                continue
            for column in spec.columns:
                value = record.get(column.name)
                values[column.name].append(None if value in (None, "") else str(value))
    if errors:
        raise FeedError(errors[:MAX_ERRORS], max(0, len(errors) - MAX_ERRORS))
    return pa.table({name: pa.array(column, pa.string()) for name, column in values.items()})


class _FloatGiven(ValueError):
    pass


def _refuse_float(text: str) -> str:
    raise _FloatGiven(text)


def _json_problem(exc: Exception) -> str:
    if isinstance(exc, _FloatGiven):
        return f'{exc} is a JSON number; write amounts as decimal strings, e.g. "{exc}"'
    return f"not valid JSON: {exc}"


def _validated(path: str, spec: FeedSpec, table: pa.Table, first_row: int) -> pa.Table:
    """Typed columns, or FeedError with the first bad rows (in file order)."""
    errors: list[RowError] = []
    typed = {}
    for column in spec.columns:
        values = table[column.name].combine_chunks()
        column_errors, typed[column.name] = _check_column(column, values)
        errors += [RowError(path, first_row + i, column.name, p) for i, p in column_errors]
    if errors:
        errors.sort(key=lambda e: e.row)
        raise FeedError(errors[:MAX_ERRORS], max(0, len(errors) - MAX_ERRORS))
    return pa.table(typed)


def _check_column(column: Column, values: pa.Array) -> tuple[list[tuple[int, str]], pa.Array]:
    errors: list[tuple[int, str]] = []
    missing = pc.is_null(values)
    if column.required:
        errors += [(i, "is required") for i in _where(missing)]
    present = pc.invert(missing)
    check = _CHECKS.get(column.kind)
    if check is None:
        return errors, values
    bad, problem, convert = check(column, values)
    errors += [(i, problem(values[i].as_py())) for i in _where(pc.and_(present, bad))]
    if errors:
        return errors, values
    return errors, convert(values)


def _where(mask: pa.Array) -> list[int]:
    """Row indexes where ``mask`` is true, at most MAX_ERRORS of them."""
    hits = pc.indices_nonzero(pc.fill_null(mask, False))
    return hits.slice(0, MAX_ERRORS).to_pylist()


def _decimal_check(column: Column, values: pa.Array):
    bad = pc.invert(pc.match_substring_regex(values, _PLAIN_DECIMAL))
    return (
        bad,
        lambda v: (
            f"{v!r} is not a decimal amount (write digits with a dot, e.g. 12.50, "
            "at most 12 decimals, no sign)"
        ),
        lambda v: pc.cast(v, DECIMAL),
    )


def _count_check(column: Column, values: pa.Array):
    ints = pc.match_substring_regex(values, _COUNT)
    positive = pc.greater(pc.cast(pc.if_else(ints, values, "1"), pa.int64()), 0)
    return (
        pc.invert(pc.and_(ints, positive)),
        lambda v: f"{v!r} is not a whole number above zero",
        lambda v: pc.cast(v, pa.int64()),
    )


def _timestamp_check(column: Column, values: pa.Array):
    return _cast_check(
        values,
        pa.timestamp("us", tz="UTC"),
        lambda v: f"{v!r} is not an ISO 8601 time with an offset, e.g. 2026-10-03T14:05:00+02:00",
    )


def _date_check(column: Column, values: pa.Array):
    shaped = pc.match_substring_regex(values, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    bad, problem, convert = _cast_check(
        pc.if_else(shaped, values, pa.scalar(None, pa.string())),
        pa.date32(),
        lambda v: f"{v!r} is not a date like 2026-10-03",
    )
    return pc.or_(bad, pc.invert(pc.fill_null(shaped, True))), problem, convert


def _cast_check(values: pa.Array, to: pa.DataType, problem: Callable[[object], str]):
    """Cast the whole column; only if that fails, find the rows that cannot be cast."""
    try:
        pc.cast(values, to)
        bad = pa.array([False] * len(values), pa.bool_())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        bad = pa.array([_uncastable(v, to) for v in values.to_pylist()], pa.bool_())
    return bad, problem, lambda v: pc.cast(v, to)


def _uncastable(value: str | None, to: pa.DataType) -> bool:
    if value is None:
        return False
    try:
        pc.cast(pa.array([value]), to)
        return False
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return True


def _enum_check(column: Column, values: pa.Array):
    return (
        pc.invert(pc.is_in(values, pa.array(column.choices))),
        lambda v: f"{v!r} is not one of {', '.join(column.choices)}",
        lambda v: v,
    )


def _currency_check(column: Column, values: pa.Array):
    return (
        pc.invert(pc.is_in(values, pa.array(sorted(known_currencies())))),
        lambda v: f"{v!r} is not an ISO 4217 currency code such as USD",
        lambda v: v,
    )


_CHECKS = {
    "decimal": _decimal_check,
    "count": _count_check,
    "timestamp": _timestamp_check,
    "date": _date_check,
    "enum": _enum_check,
    "currency": _currency_check,
}


def to_csv_bytes(table: pa.Table) -> bytes:
    """The table as headerless CSV for PostgreSQL's COPY (times in UTC with a Z)."""
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, write_options=pacsv.WriteOptions(include_header=False))
    return sink.getvalue()
