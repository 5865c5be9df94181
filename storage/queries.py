"""Named SQL queries, kept in ``storage/queries/*.sql`` and loaded once.

A file holds blocks that start with ``-- name: query_name`` followed by comment lines
saying what the query is for, then the SQL.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


@cache
def _all_queries() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in resources.files("storage").joinpath("queries").iterdir():
        if entry.name.endswith(".sql"):
            found.update(parse_queries(entry.read_text()))
    return found


def parse_queries(text: str) -> dict[str, str]:
    parts = _NAME.split(text)
    # parts: [preamble, name1, body1, name2, body2, ...]
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def query(name: str) -> str:
    try:
        return _all_queries()[name]
    except KeyError:
        raise KeyError(f"no SQL query named {name!r} in storage/queries") from None
