"""Bad catalog input, reported as one line naming the file, row and field."""

from __future__ import annotations

from pathlib import Path


class CatalogError(Exception):
    def __init__(self, path: Path | str, row: int, field: str, problem: str) -> None:
        self.path, self.row, self.field, self.problem = str(path), row, field, problem
        super().__init__(f"{path}: row {row}: {field}: {problem}")
