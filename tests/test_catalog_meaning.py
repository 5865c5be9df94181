"""Catalog uploads that do what a merchant means (issue 16): currencies, replays, missing
columns, partial updates, repeated rows, the stored catalog and the report."""

from __future__ import annotations

import codecs
import csv
import uuid
from decimal import Decimal

import pytest

from catalog.errors import CatalogError
from catalog.products import list_products
from catalog.report import write_report
from catalog.upload import upload_catalog
from catalog.uploads import get_upload
from storage.merchants import set_default_currency
from storage.services import services
from tests.helpers import catalog as fx
from tests.helpers.cli import cli_json, run_adreel
from tests.helpers.ledger import new_merchant


@pytest.fixture
def merchant(db):
    with db.connection() as conn:
        return new_merchant(conn, "mean")


def upload(path, merchant_id, **options):
    return upload_catalog(services(), merchant_id, path, **options)


def stored(merchant_id) -> dict[str, dict]:
    with services().db.connection() as conn:
        return {p["product_id"]: p for p in list_products(conn, merchant_id)}


def version_of(merchant_id):
    with services().db.connection() as conn:
        latest = get_upload(conn, merchant_id, None)
    return latest and latest["version"]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


CHANGED = ("created", "updated", "unchanged", "removed", "rows_read", "accepted", "rejected")


def test_shopify_export_without_currency_needs_one_then_each_currency_is_applied(
    adreel_env, tmp_path
):
    merchant = f"shop-{uuid.uuid4().hex[:8]}"  # a merchant adreel has never seen
    export = write(tmp_path, "products_export.csv", fx.SHOPIFY_NEW)
    refused = run_adreel("catalog", "upload", "--merchant", merchant, str(export), env=adreel_env)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "--currency" in refused.stderr and "row 2: price" in refused.stderr
    assert str(export) in refused.stderr
    assert version_of(merchant) is None  # nothing at all was recorded, not even the merchant
    unknown = run_adreel("catalog", "products", "--merchant", merchant, env=adreel_env)
    assert unknown.returncode == 1 and "no merchant" in unknown.stderr

    eur = upload(export, merchant, currency="EUR", images="defer")
    assert (eur.version, eur.created, eur.currency) == (1, 2, "EUR")
    # The same bytes with another currency decide another outcome: applied, not replayed.
    usd = upload(export, merchant, currency="USD", images="defer")
    assert (usd.replayed, usd.version, usd.updated) == (False, 2, 2)
    assert {p["currency"] for p in stored(merchant).values()} == {"USD"}
    again = upload(export, merchant, currency="USD", images="defer")
    assert (again.replayed, again.version) == (True, 2)
    assert all(getattr(again, k) == 0 for k in CHANGED) and again.rule_counts == {}
    # ... and so does another upload mode.
    update = upload(export, merchant, currency="USD", images="defer", mode="update")
    assert (update.replayed, update.version, update.unchanged) == (False, 3, 2)

    stored_currency = cli_json("merchant", "set", merchant, "--currency", "gbp", env=adreel_env)
    assert stored_currency == {"merchant_id": merchant, "default_currency": "GBP", "previous": None}
    gbp = upload(export, merchant, images="defer")
    assert (gbp.replayed, gbp.currency, gbp.version) == (False, "GBP", 4)
    assert {p["currency"] for p in stored(merchant).values()} == {"GBP"}
    with services().db.connection() as conn:
        assert get_upload(conn, merchant, 4)["currency"] == "GBP"


def test_replay_json_says_replayed_with_the_matched_version_and_zeros(
    adreel_env, merchant, tmp_path
):
    feed = write(
        tmp_path,
        "feed.csv",
        "id,title,price,link\nA,Mug,9.00 USD,https://s.example.com/a\n"
        "B,Cup,-1 USD,https://s.example.com/b\n",
    )
    upload(feed, merchant)
    replay = cli_json("catalog", "upload", "--merchant", merchant, str(feed), env=adreel_env)
    assert (replay["replayed"], replay["version"]) == (True, 1)
    assert all(replay[k] == 0 for k in (*CHANGED, "duplicates_collapsed"))
    assert replay["rule_counts"] == {}


def test_invalid_default_currency_is_refused(adreel_env, merchant):
    with pytest.raises(Exception, match="not an ISO 4217"):
        set_default_currency(services().db, merchant, "EURO")


@pytest.mark.parametrize(
    ("name", "content", "missing", "unrecognised"),
    [
        (
            "renamed_price.csv",
            "id,title,cost,link\nA,Mug,9.00 USD,https://s.example.com/a\n",
            "column price",
            "cost",
        ),
        (
            "renamed_title.tsv",
            "id\tname\tprice\nA\tMug\t9.00 USD\n",
            "column title",
            "name",
        ),
        (
            "renamed_both.jsonl",
            '{"id": "A", "name": "Mug", "amount": "9.00 USD"}\n',
            "columns title, price",
            "amount, name",
        ),
        (
            "products_export.csv",
            fx.SHOPIFY_CLASSIC.replace("Variant Price", "Variant Cost", 1),
            "column Variant Price",
            "Variant Cost",
        ),
    ],
)
def test_missing_required_column_is_refused_naming_it_and_the_unrecognised(
    adreel_env, merchant, tmp_path, name, content, missing, unrecognised
):
    path = write(tmp_path, name, content)
    with pytest.raises(CatalogError) as refused:
        upload(path, merchant, currency="EUR")
    message = str(refused.value)
    assert f"missing required {missing}" in message, message
    assert "unrecognised columns: " in message and unrecognised in message, message
    assert "\n" not in message and str(path) in message
    assert version_of(merchant) is None and stored(merchant) == {}


def test_fixed_rejected_rows_are_uploaded_with_mode_update(adreel_env, merchant, tmp_path):
    feed = write(
        tmp_path,
        "feed.csv",
        "id,title,price,availability,link\n"
        "G-1,Good mug,9.00 USD,in stock,https://s.example.com/1\n"
        "G-2,Good cup,5.00 USD,in stock,https://s.example.com/2\n"
        'F-1,Crème pot,"12,99 EUR",someday,https://s.example.com/3\n'
        "F-2,,7.00 USD,in stock,https://s.example.com/4\n",
    )
    first = upload(feed, merchant)
    assert (first.accepted, first.rejected) == (2, 2)
    report = tmp_path / "report.html"
    write_report(services().db, merchant, None, report, tmp_path / "rejected.csv")
    raw = (tmp_path / "rejected.csv").read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["id"] for r in rows] == ["F-1", "F-2"]
    # as the merchant wrote them, not as adreel normalised them
    assert (rows[0]["price"], rows[0]["availability"], rows[0]["title"]) == (
        "12,99 EUR",
        "someday",
        "Crème pot",
    )

    rows[0]["availability"] = "in stock"
    rows[1]["title"] = "Fixed jar"
    fixed = tmp_path / "fixed.csv"
    with open(fixed, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = cli_json(
        "catalog", "upload", "--merchant", merchant, "--mode", "update", str(fixed), env=adreel_env
    )
    assert (result["mode"], result["accepted"], result["created"], result["removed"]) == (
        "update",
        2,
        2,
        0,
    )
    products = stored(merchant)
    assert set(products) == {"G-1", "G-2", "F-1", "F-2"}
    assert all(p["removed_at"] is None for p in products.values())
    assert (products["F-1"]["price"], products["F-1"]["currency"]) == (Decimal("12.99"), "EUR")

    # The default stays full: a file is the whole catalog, unlisted products are removed.
    full = upload(write(tmp_path, "only.csv", "id,title,price\nG-1,Good mug,9.00 USD\n"), merchant)
    assert (full.mode, full.removed) == ("full", 3)


def test_identical_rows_count_once_and_differing_duplicates_stay_quarantined(
    adreel_env, merchant, tmp_path
):
    feed = write(
        tmp_path,
        "feed.tsv",
        "id\ttitle\tprice\tcolor\n"
        "SAME\tMug\t9.00 USD\tred\n"
        "OTHER\tCup\t5.00 USD\tblue\n"
        "SAME\tMug\t9.00 USD\tred\n"
        "SAME\tMug\t9.00 USD\tred\n"
        "DIFF\tJar\t3.00 USD\tgreen\n"
        "DIFF\tJar\t3.50 USD\tgreen\n",
    )
    result = upload(feed, merchant)
    assert (result.rows_read, result.duplicates_collapsed, result.accepted, result.rejected) == (
        6,
        2,
        2,
        2,
    )
    assert result.rule_counts == {"duplicate_id": 2}
    assert set(stored(merchant)) == {"SAME", "OTHER"}
    write_report(services().db, merchant, None, tmp_path / "r.html", tmp_path / "r.csv")
    rejected = list(csv.DictReader((tmp_path / "r.csv").read_text("utf-8-sig").splitlines()))
    assert [(r["id"], r["price"], r["color"]) for r in rejected] == [
        ("DIFF", "3.00 USD", "green"),
        ("DIFF", "3.50 USD", "green"),
    ]


def test_catalog_products_lists_the_catalog_as_stored(adreel_env, merchant, tmp_path):
    upload(
        write(
            tmp_path,
            "v1.csv",
            "id,title,price\nA,Mug,9.00 USD\nB,Cup,12.5 EUR\nC,Pot,7.00 USD\n",
        ),
        merchant,
        images="defer",
    )
    upload(
        write(tmp_path, "v2.csv", "id,title,price\nA,Mug,9.00 USD\nB,Cup,12.5 EUR\nD,Jar,-1 USD\n"),
        merchant,
        images="defer",
    )
    listed = cli_json("catalog", "products", "--merchant", merchant, env=adreel_env)
    assert listed["products"] == [
        {
            "id": "A",
            "title": "Mug",
            "price": "9.00",
            "currency": "USD",
            "status": "live",
            "image_status": "none",
        },
        {
            "id": "B",
            "title": "Cup",
            "price": "12.5",
            "currency": "EUR",
            "status": "live",
            "image_status": "none",
        },
        {
            "id": "C",
            "title": "Pot",
            "price": "7.00",
            "currency": "USD",
            "status": "removed",
            "image_status": "none",
        },
        {
            "id": "D",
            "title": "Jar",
            "price": "-1",
            "currency": "USD",
            "status": "quarantined",
            "image_status": None,
            "row": 4,
            "errors": "price_positive (price)",
        },
    ]
    removed = cli_json(
        "catalog", "products", "--merchant", merchant, "--status", "removed", env=adreel_env
    )
    assert [p["id"] for p in removed["products"]] == ["C"]


def test_report_says_where_it_cuts(adreel_env, merchant, tmp_path):
    rows = "".join(f"N-{n},Item {n},0.00 USD\n" for n in range(12))
    upload(write(tmp_path, "feed.csv", "id,title,price\nOK,Fine,1.00 USD\n" + rows), merchant)
    written = write_report(services().db, merchant, None, tmp_path / "r.html", tmp_path / "r.csv")
    page = (tmp_path / "r.html").read_text()
    assert "first 10 of 12 rows" in page and written.rejected == 12
    assert page.count("<code>0.00 USD</code>") == 10
