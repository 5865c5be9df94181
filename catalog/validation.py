"""The catalog expectation suite (Great Expectations 1.x), run on each normalised chunk.

Each rule names the field it guards; a failing row is reported with the rule, the field
and the value as the merchant wrote it. GE sees the normalised chunk; checks that need
Decimal arithmetic or check digits arrive as ``_ok_*`` flags from ``normalize``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

import pandas as pd

from catalog.normalize import WHITESPACE
from catalog.schema import REQUIRED

# Python's ``\s`` spelled out as the characters it matches (``str.isspace``): with ``\s``
# pandas runs the rule with Python's ``re`` row by row, with the class spelled out with
# Arrow's RE2 over the whole column (RE2's own ``\s`` misses some of them).
_NOT_SPACE = f"[^{WHITESPACE}]"
ID_MANGLED = r"^[0-9](?:\.[0-9]+)?[eE][+-]?[0-9]+$"
URL = rf"^https?://[^{WHITESPACE}/$.?#]{_NOT_SPACE}*$"
IMAGE = rf"^(?:https?|file)://{_NOT_SPACE}+$|^[^:]+$"


@dataclass(frozen=True)
class Rule:
    name: str
    field: str  # the merchant's field the rule is about (its value is reported)
    expectation: str
    kwargs: dict


def rules() -> list[Rule]:
    def flag(name: str, field: str, column: str) -> Rule:
        return Rule(
            name, field, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True]}
        )

    return [
        *(
            Rule(f"required_{f}", f, "ExpectColumnValuesToNotBeNull", {"column": f"_given_{f}"})
            for f in REQUIRED
        ),
        # Unique ids are checked over the whole file in PostgreSQL once every chunk is
        # staged (GE sees one chunk at a time): every row of a repeated id is quarantined.
        Rule(
            "id_spreadsheet_mangled",
            "id",
            "ExpectColumnValuesToNotMatchRegex",
            {"column": "id", "regex": ID_MANGLED},
        ),
        Rule(
            "id_length",
            "id",
            "ExpectColumnValueLengthsToBeBetween",
            {"column": "id", "min_value": 1, "max_value": 50},
        ),
        Rule(
            "title_length",
            "title",
            "ExpectColumnValueLengthsToBeBetween",
            {"column": "title", "min_value": 1, "max_value": 150},
        ),
        Rule(
            "description_length",
            "description",
            "ExpectColumnValueLengthsToBeBetween",
            {"column": "description", "min_value": 0, "max_value": 5000},
        ),
        flag("price_format", "price", "_ok_price"),
        flag("price_positive", "price", "_ok_price_positive"),
        flag("sale_price_format", "sale_price", "_ok_sale_price"),
        flag("sale_price_not_above_price", "sale_price", "_ok_sale_not_above_price"),
        Rule(
            "link_url", "link", "ExpectColumnValuesToMatchRegex", {"column": "link", "regex": URL}
        ),
        Rule(
            "image_link_url",
            "image_link",
            "ExpectColumnValuesToMatchRegex",
            {"column": "image_link", "regex": IMAGE},
        ),
        Rule(
            "availability_value",
            "availability",
            "ExpectColumnValuesToBeInSet",
            {
                "column": "availability",
                "value_set": ["in_stock", "out_of_stock", "preorder", "backorder"],
            },
        ),
        Rule(
            "condition_value",
            "condition",
            "ExpectColumnValuesToBeInSet",
            {"column": "condition", "value_set": ["new", "refurbished", "used"]},
        ),
        flag("gtin_check_digit", "gtin", "_ok_gtin"),
    ]


@dataclass(frozen=True)
class Failure:
    index: int  # position in the chunk
    rule: str
    field: str


class CatalogSuite:
    """One ephemeral GE context and suite per process, reused for every chunk."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GE fingerprints every pandas batch below this size (a hash of every value, twice
        # per chunk: half of validation's time) for batch metadata nothing here reads.
        pandas_execution_engine.HASH_THRESHOLD = 0

        logging.getLogger("great_expectations").setLevel(logging.WARNING)

        self._rules = {rule.name: rule for rule in rules()}
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("catalog").add_dataframe_asset("chunk")
        self._batches = asset.add_batch_definition_whole_dataframe("whole chunk")
        suite = gx.ExpectationSuite(name="canonical_product")
        for rule in self._rules.values():
            expectation = getattr(gx.expectations, rule.expectation)
            suite.add_expectation(expectation(**rule.kwargs, meta={"rule": rule.name}))
        self._suite = context.suites.add(suite)
        # only the columns the rules read, not the sixty of a normalised chunk
        self._columns = sorted({rule.kwargs["column"] for rule in self._rules.values()})
        self._flags = {
            rule.kwargs["column"]
            for rule in self._rules.values()
            if rule.kwargs.get("value_set") == [True]
        }

    def failures(self, chunk: pd.DataFrame) -> list[Failure]:
        frame = pd.DataFrame(
            {
                column: chunk[column].reset_index(drop=True)
                if column in self._flags
                else _as_text(chunk[column])
                for column in self._columns
            }
        )
        batch = self._batches.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self._suite, result_format={"result_format": "COMPLETE"})
        found = []
        for outcome in result.results:
            rule = self._rules[outcome.expectation_config.meta["rule"]]
            if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"validation rule {rule.name} could not run: "
                    f"{outcome.exception_info.get('exception_message')}"
                )
            for index in outcome.result.get("unexpected_index_list") or []:
                found.append(Failure(int(index), rule.name, rule.field))
        return found


def _as_text(column: pd.Series) -> pd.Series:
    """A text column as pandas' Arrow-backed ``str``, once: GE's length and regex rules
    call ``astype(str)`` per rule (a copy of an object column each time, free for ``str``),
    and pandas runs them with Arrow compute. Missing values stay missing."""
    return column.reset_index(drop=True).astype(str)


@cache
def catalog_suite() -> CatalogSuite:
    return CatalogSuite()
