"""Writing command results: one JSON object for scripts, a rich table for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def emit_json(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, default=_default, sort_keys=True) + "\n")


def emit_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)


def status(message: str) -> None:
    """A line for the person at the terminal: stderr, so stdout stays data. Never wrapped
    (a terminal wraps it anyway; a log or a script reading it gets the line whole)."""
    Console(stderr=True, soft_wrap=True).print(message)
