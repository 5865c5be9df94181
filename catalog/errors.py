"""Bad catalog input, reported as one line naming the file, row and field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


class CatalogError(Exception):
    def __init__(self, path: Path | str, row: int, field: str, problem: str) -> None:
        self.path, self.row, self.field, self.problem = str(path), row, field, problem
        super().__init__(f"{path}: row {row}: {field}: {problem}")


@contextmanager
def wrap_exceptions(path: Path | str) -> Iterator[None]:
    """The one place catalog/ turns database refusals of its input into CatalogError.

    Rows are validated before they are written; should a table constraint or type still
    refuse a value, the file is refused as bad input (row 0: the row is not known here).
    Anything else, connection errors included, passes unchanged.
    """
    try:
        yield
    except (
        psycopg.errors.CheckViolation,
        psycopg.errors.NotNullViolation,
        psycopg.errors.DataError,
    ) as exc:
        field = exc.diag.column_name or exc.diag.constraint_name or "-"
        reason = exc.diag.message_primary or type(exc).__name__
        raise CatalogError(path, 0, field, f"refused by the database: {reason}") from exc
