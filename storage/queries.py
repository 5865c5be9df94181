"""Named SQL queries, kept in ``<package>/sql/*.sql`` and loaded once per package.

A file holds blocks that start with ``-- name: query_name`` followed by comment lines
saying what the query is for, then the SQL. Each domain package owns its files and is
their only caller: it makes ``query = Queries(__package__)`` in its ``queries`` module.
"""

from __future__ import annotations

import re
from functools import cached_property
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    parts = _NAME.split(text)
    # parts: [preamble, name1, body1, name2, body2, ...]
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


class Queries:
    """The named queries of one package: ``query("name")`` is the SQL text."""

    def __init__(self, package: str) -> None:
        self.package = package

    @cached_property
    def _all(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for entry in resources.files(self.package).joinpath("sql").iterdir():
            if entry.name.endswith(".sql"):
                found.update(parse_queries(entry.read_text()))
        return found

    def __call__(self, name: str) -> str:
        try:
            return self._all[name]
        except KeyError:
            raise KeyError(f"no SQL query named {name!r} in {self.package}/sql") from None


query = Queries("storage")
