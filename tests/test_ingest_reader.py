"""Arrow's CSV reader, used for plain UTF-8 delimited feeds, reads exactly what pandas'
reader reads: the same chunks, values, row numbers and errors, on adversarial files; and
trimming that hands back a column unchanged does so only where ``str.strip`` changes
nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog import readers
from catalog.errors import CatalogError
from catalog.normalize import _strip

HEADERS = [
    ["id", "title", "price"],
    ["id", "title", "price", "link", "colour"],
    ["id", "title", "price", "title"],  # pandas refuses repeated names: so does the upload
]
# Tabs, commas and spaces (delimiters, or not), markup, and characters of 2, 3 and 4 bytes.
FIELD_TEXT = st.text(alphabet=list("ab1 ,\t<>&/.é日\U0001f600\x1c\xa0"), max_size=8)


@st.composite
def feeds(draw) -> tuple[str, str]:
    header = draw(st.sampled_from(HEADERS))
    delimiter = draw(st.sampled_from(["\t", ","]))
    lines = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 30))):
        shape = draw(st.sampled_from(["row"] * 8 + ["short", "long", "empty", "spaces"]))
        width = {"short": len(header) - 1, "long": len(header) + 1}.get(shape, len(header))
        fields = [draw(FIELD_TEXT).replace(delimiter, "") for _ in range(width)]
        text = {"empty": "", "spaces": " " * draw(st.integers(1, 3))}
        lines.append(text.get(shape, delimiter.join(fields)))
    ending = draw(st.sampled_from(["", "\n", "\n\n"]))
    return "\n".join(lines) + ending, draw(st.sampled_from(["", "\ufeff"]))


def _read(path: Path, chunk_rows: int) -> list:
    """The chunks ``read_chunks`` yields, and its error (as text) if it stops with one."""
    found: list = []
    try:
        for chunk in readers.read_chunks(path, "google", chunk_rows, None):
            found.append(chunk)
    except (CatalogError, ValueError) as exc:
        found.append(f"{type(exc).__name__}: {exc}")
    return found


def _same(arrow: list, pandas: list) -> None:
    assert len(arrow) == len(pandas)
    for ours, theirs in zip(arrow, pandas, strict=True):
        if isinstance(theirs, str):
            assert ours == theirs
        else:
            pd.testing.assert_frame_equal(ours, theirs)
            for column in theirs.columns:  # None stays None, text stays str
                assert list(map(type, ours[column])) == list(map(type, theirs[column]))


@settings(max_examples=300, deadline=None)
@given(feeds(), st.integers(1, 7))
def test_arrow_reads_plain_feeds_as_pandas_does(feed, chunk_rows):
    text, bom = feed
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "feed.tsv"
        path.write_bytes((bom + text).encode())
        assert readers._plain_utf8(path, readers.sniff_encoding(path))
        arrow = _read(path, chunk_rows)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(readers, "_plain_utf8", lambda path, encoding: False)
            pandas = _read(path, chunk_rows)
    _same(arrow, pandas)


def test_arrow_blocks_end_on_whole_lines(tmp_path, monkeypatch):
    """A block boundary falls inside lines: each line is still read once and whole."""
    monkeypatch.setattr(readers, "ARROW_BLOCK_BYTES", 7)
    path = tmp_path / "feed.tsv"
    rows = [f"ID{n}\tItem {'x' * (n % 11)}\t{n}.00 USD" for n in range(200)]
    path.write_text("id\ttitle\tprice\n" + "\n".join(rows))
    chunks = _read(path, 64)
    assert [len(chunk) for chunk in chunks] == [64, 64, 64, 8]
    frame = pd.concat(chunks)
    assert list(frame["id"]) == [f"ID{n}" for n in range(200)]
    assert list(frame["_row"]) == list(range(2, 202))
    assert list(frame.index) == list(range(200))


@pytest.mark.parametrize(
    "content",
    [
        'id\ttitle\tprice\nA\t"quoted\ttab"\t1.00 USD\n',  # quotes: pandas' quoting rules
        "id\ttitle\tprice\r\nA\tMug\t1.00 USD\r\n",  # carriage returns
        "id\ttitle\tprice\nA\tMug\t1.00 USD\n".encode("utf-16"),
    ],
)
def test_other_feeds_are_left_to_pandas(tmp_path, content):
    path = tmp_path / "feed.tsv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert not readers._plain_utf8(path, readers.sniff_encoding(path))
    assert len(_read(path, 10)[0]) == 1


def test_invalid_utf8_after_the_sample_is_pandas_error(tmp_path):
    path = tmp_path / "feed.tsv"
    rows = "".join(f"ID{n}\tItem\t1.00 USD\n" for n in range(5000))
    path.write_bytes(b"id\ttitle\tprice\n" + rows.encode() + b"B\tCaf\xe9\t1.00 USD\n")
    assert readers._plain_utf8(path, "utf-8")
    with pytest.raises(CatalogError, match="not valid utf-8 text"):
        list(readers.read_chunks(path, "google", 1000, None))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.just(float("nan")),
            st.integers(),
            st.text(alphabet=list("ab \t\u3000\xa0日"), max_size=5),
        )
    )
)
def test_strip_keeps_the_objects_only_where_trimming_changes_nothing(values):
    column = pd.Series(values, dtype=object)
    stripped = _strip(column)
    assert list(stripped) == [(v.strip() or None) if isinstance(v, str) else None for v in values]
    if stripped is column:
        assert all(v is None or (isinstance(v, str) and v == v.strip() != "") for v in values)
