"""The faster ingest path means what the slower one meant: the same content hashes (or
every stored product reads as changed once), the same URL rules, and the same duplicate
and removal outcomes when the duplicate checks are skipped for files without repeats."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.normalize import _HASHED, WHITESPACE, _content_hashes
from catalog.products import list_products
from catalog.upload import _id_hashes, _may_repeat, upload_catalog
from catalog.uploads import quarantined_rows
from catalog.validation import IMAGE, URL
from storage.services import services
from tests.helpers.ledger import new_merchant

VALUES = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.sampled_from(["", "None", "nan", "[]", "{}", "15.00", "ünï", "a\u3000b", "\ud7ff"]),
    st.integers(-3, 3),
    st.booleans(),
)


def _pandas_row_hash(frame: pd.DataFrame) -> list[str]:
    """The content hash as it was first written: pandas' row hash of the columns as str."""
    hashed = frame[_HASHED].astype(str)
    first = pd.util.hash_pandas_object(hashed, index=False, hash_key="adreel-content-1")
    second = pd.util.hash_pandas_object(hashed, index=False, hash_key="adreel-content-2")
    return [f"{a:016x}{b:016x}" for a, b in zip(first, second, strict=True)]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 12).flatmap(
        lambda n: st.lists(
            st.lists(VALUES, min_size=n, max_size=n), min_size=len(_HASHED), max_size=len(_HASHED)
        )
    ),
    st.sets(st.sampled_from(_HASHED)),
)
def test_content_hash_is_pandas_row_hash_of_the_columns_as_str(columns, as_str):
    frame = pd.DataFrame(dict(zip(_HASHED, columns, strict=True)), dtype=object)
    for name in as_str:  # some columns arrive as pandas' Arrow-backed str already
        frame[name] = frame[name].astype(str)
    assert list(_content_hashes(frame)) == _pandas_row_hash(frame)


def test_content_hash_of_a_column_split_into_arrow_chunks():
    frame = pd.DataFrame({name: ["a", None, "b"] for name in _HASHED}, dtype=object)
    both = pd.concat([frame, frame], ignore_index=True)
    both["title"] = pd.concat([frame["title"].astype(str)] * 2, ignore_index=True)
    assert list(_content_hashes(both)) == _pandas_row_hash(both)


URL_PIECES = ["http", "https", "file", "://", "s", ".", "/", "$", "?", "#", ":", "a", "é"]
URL_PIECES += [*WHITESPACE, "\u200b", "\ufeff"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(URL_PIECES), max_size=8).map("".join), max_size=20))
def test_url_rules_run_by_arrow_mean_python_whitespace(values):
    """The rules spell out ``\\s``; run by pandas (RE2 on Arrow strings) they accept what
    Python's ``re`` accepts with ``\\s``."""
    column = pd.Series(values, dtype=object).astype(str)
    for spelled, python in (
        (URL, r"^https?://[^\s/$.?#][^\s]*$"),
        (IMAGE, r"^(?:https?|file)://\S+$|^[^:]+$"),
    ):
        expected = [re.search(python, v) is not None for v in values]
        assert list(column.str.contains(spelled).astype(bool)) == expected


def test_id_hashes_say_whether_an_id_repeats_across_chunks():
    first = _id_hashes(pd.Series(["A", "B", None], dtype=object))
    assert not _may_repeat([first, _id_hashes(pd.Series(["C", None], dtype=object))])
    assert _may_repeat([first, _id_hashes(pd.Series(["B"], dtype=object))])
    assert not _may_repeat([])
    assert first.dtype == np.uint64


@pytest.fixture
def merchant(db):
    with db.connection() as conn:
        return new_merchant(conn, "thr")


def _upload(tmp_path, merchant_id, text, **options):
    path = tmp_path / "feed.csv"
    path.write_text(text)
    return upload_catalog(services(), merchant_id, path, chunk_rows=2, **options)


def test_repeats_in_other_chunks_are_collapsed_or_quarantined(adreel_env, merchant, tmp_path):
    text = (
        "id,title,price,link\n"
        "SAME,Mug,9.00 USD,https://s.example.com/a\n"
        "DIFF,Cup,5.00 USD,https://s.example.com/b\n"
        "OK,Pot,7.00 USD,https://s.example.com/c\n"
        "SAME,Mug,9.00 USD,https://s.example.com/a\n"
        "DIFF,Cup,6.00 USD,https://s.example.com/b\n"
    )
    result = _upload(tmp_path, merchant, text)
    assert (result.accepted, result.rejected, result.duplicates_collapsed) == (2, 2, 1)
    assert result.rule_counts == {"duplicate_id": 2}
    with services().db.connection() as conn:
        stored = {p["product_id"] for p in list_products(conn, merchant)}
        found = [(r["row_number"], r["rule"]) for r in quarantined_rows(conn, merchant, 1)]
    assert stored == {"SAME", "OK"}
    assert found == [(3, "duplicate_id"), (6, "duplicate_id")]


def test_removed_products_are_counted_once_and_come_back(adreel_env, merchant, tmp_path):
    first = "id,title,price,link\nA,Mug,9.00 USD,https://s.example.com/a\n"
    first += "B,Cup,5.00 USD,https://s.example.com/b\nC,Pot,7.00 USD,https://s.example.com/c\n"
    assert _upload(tmp_path, merchant, first).created == 3
    second = "id,title,price,link\nA,Mug,9.00 USD,https://s.example.com/a\n"
    second += "D,Jar,3.00 USD,https://s.example.com/d\n"
    changed = _upload(tmp_path, merchant, second)
    assert (changed.created, changed.updated, changed.unchanged, changed.removed) == (1, 0, 1, 2)
    back = _upload(tmp_path, merchant, first)
    assert (back.created, back.updated, back.unchanged, back.removed) == (0, 2, 1, 1)
    with services().db.connection() as conn:
        live = {p["product_id"]: p["removed_at"] is None for p in list_products(conn, merchant)}
    assert live == {"A": True, "B": True, "C": True, "D": False}
    update = _upload(tmp_path, merchant, "id,title,price\nE,Bowl,4.00 USD\n", mode="update")
    assert (update.created, update.removed) == (1, 0)
