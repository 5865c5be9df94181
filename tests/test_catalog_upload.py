"""Catalog uploads: every feed format, validation with quarantine, idempotent upserts."""

from __future__ import annotations

import codecs
import io
import json
import threading
from decimal import Decimal

import pandas as pd
import pytest
from PIL import Image

from catalog.errors import CatalogError
from catalog.products import list_products
from catalog.readers import read_chunks
from catalog.sample import write_sample_catalog
from catalog.upload import upload_catalog
from catalog.uploads import quarantined_rows
from storage.services import services
from tests.helpers import catalog as fx
from tests.helpers.cli import run_adreel
from tests.helpers.ledger import new_merchant


@pytest.fixture
def merchant(db):
    with db.connection() as conn:
        return new_merchant(conn, "cat")


def upload(path, merchant_id, **options):
    return upload_catalog(services(), merchant_id, path, **options)


def products(merchant_id) -> dict[str, dict]:
    with services().db.connection() as conn:
        return {p["product_id"]: p for p in list_products(conn, merchant_id)}


def quarantine(merchant_id, version=1) -> list[tuple]:
    with services().db.connection() as conn:
        rows = quarantined_rows(conn, merchant_id, version)
    return [(r["row_number"], r["rule"], r["field"], r["value"]) for r in rows]


def write(tmp_path, name, text, encoding="utf-8") -> object:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_google_tsv_with_quoting_html_and_rtl_cjk_text(adreel_env, merchant, tmp_path):
    result = upload(write(tmp_path, "feed.tsv", fx.GOOGLE_TSV), merchant)
    assert (result.format, result.rows_read, result.accepted, result.created) == ("google", 3, 3, 3)
    stored = products(merchant)
    tee = stored["TS-1"]
    assert tee["description"] == "Soft cotton tee,\nmachine washable"
    assert tee["description_html"].startswith('<p style="color:red">')
    assert (tee["price"], tee["sale_price"], tee["currency"]) == (
        Decimal("19.99"),
        Decimal("14.99"),
        "USD",
    )
    assert tee["custom_labels"] == ["summer"] and tee["availability"] == "in_stock"
    assert stored["TS-2"]["title"] == "قميص قطني"
    assert stored["TS-3"]["title"] == '棉质T恤 "经典"'
    assert (stored["TS-3"]["price"], stored["TS-3"]["currency"]) == (Decimal("120"), "JPY")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "cp1252"])
def test_encodings_and_crlf(adreel_env, merchant, tmp_path, encoding):
    text = "id,title,price,link\r\nE-1,Café crème mug,9.50 EUR,https://shop.example.com/e\r\n"
    result = upload(write(tmp_path, "feed.csv", text, encoding), merchant)
    assert result.accepted == 1
    assert products(merchant)["E-1"]["title"] == "Café crème mug"


def test_google_rss_with_namespaces_shipping_and_repeated_images(adreel_env, merchant, tmp_path):
    result = upload(write(tmp_path, "feed.xml", fx.GOOGLE_RSS), merchant, images="defer")
    assert (result.format, result.accepted) == ("google_xml", 2)
    shoe, boot = products(merchant)["X-1"], products(merchant)["X-2"]
    assert shoe["additional_image_links"] == [
        "https://cdn.example.com/x-1b.jpg",
        "https://cdn.example.com/x-1c.jpg",
    ]
    assert shoe["attributes"]["shipping"] == [
        {"country": "US", "service": "Standard", "price": "4.95 USD"}
    ]
    assert shoe["description"] == "Light and fast" and shoe["image_status"] == "pending"
    assert (boot["price"], boot["currency"]) == (Decimal("4.500"), "KWD")


def test_atom_feed(adreel_env, merchant, tmp_path):
    upload(write(tmp_path, "feed.xml", fx.GOOGLE_ATOM), merchant)
    lamp = products(merchant)["A-1"]
    assert (lamp["link"], lamp["description"]) == ("https://shop.example.com/a-1", "Warm light")


def test_truncated_xml_is_refused_and_nothing_is_written(adreel_env, merchant, tmp_path):
    path = write(tmp_path, "feed.xml", fx.GOOGLE_RSS[: len(fx.GOOGLE_RSS) // 2])
    with pytest.raises(CatalogError, match=r"feed\.xml: row \d+: -: XML is cut off"):
        upload(path, merchant)
    assert products(merchant) == {}


def test_meta_catalog(adreel_env, merchant, tmp_path):
    result = upload(write(tmp_path, "meta.csv", fx.META_CSV), merchant)
    assert (result.format, result.accepted) == ("meta", 2)
    assert products(merchant)["M-2"]["price"] == Decimal("42.00")


def test_shopify_classic_export_with_variants_and_images(adreel_env, merchant, tmp_path):
    result = upload(
        write(tmp_path, "products_export.csv", fx.SHOPIFY_CLASSIC),
        merchant,
        currency="EUR",
        images="defer",
    )
    assert (result.format, result.accepted) == ("shopify", 4)
    stored = products(merchant)
    red42 = stored["AUR-R-42"]
    assert red42["title"] == "Aurora Shoe - Red / 42"
    assert (red42["price"], red42["sale_price"], red42["currency"]) == (
        Decimal("110.00"),
        Decimal("89.00"),
        "EUR",
    )
    assert red42["item_group_id"] == "aurora-shoe" and red42["description"] == "Light trail shoe"
    assert red42["additional_image_links"] == ["https://cdn.example.com/aur-2.jpg"]
    assert stored["AUR-R-43"]["availability"] == "out_of_stock"
    assert stored["AUR-B-42"]["image_link"] == "https://cdn.example.com/aur-blue.jpg"
    assert stored["TOTE-1"]["title"] == "Canvas Tote - Default Title"


def test_shopify_new_headers(adreel_env, merchant, tmp_path):
    result = upload(
        write(tmp_path, "export.csv", fx.SHOPIFY_NEW), merchant, currency="USD", images="defer"
    )
    assert result.accepted == 2
    blue = products(merchant)["MUG-2"]
    assert (blue["sale_price"], blue["availability"]) == (Decimal("18.00"), "in_stock")


def test_canonical_parquet(adreel_env, merchant, tmp_path):
    path = tmp_path / "feed.parquet"
    pd.DataFrame(
        {
            "id": ["P-1"],
            "title": ["Parquet Pot"],
            "price": ["12.00 USD"],
            "link": ["https://shop.example.com/p-1"],
        }
    ).to_parquet(path)
    assert upload(path, merchant).accepted == 1


def test_sample_catalog_uploads_with_its_images(adreel_env, merchant, tmp_path):
    result = upload(write_sample_catalog(tmp_path), merchant)
    assert (result.format, result.accepted, result.rejected) == ("jsonl", 20, 0)
    stored = products(merchant)
    assert all(p["image_status"] == "ready" and p["image_key"] for p in stored.values())
    png = services().store.read(stored["SKU-1001"]["image_key"])
    assert Image.open(io.BytesIO(png)).format == "PNG"


def test_bad_rows_are_quarantined_with_rule_field_value_and_row(adreel_env, merchant, tmp_path):
    text = (
        "id,title,price,sale_price,link,availability,gtin\n"
        "OK-1,Good,10.00 USD,,https://s.example.com/1,in stock,\n"
        "DUP,First copy,10.00 USD,,https://s.example.com/2,in stock,\n"
        "DUP,Second copy,11.00 USD,,https://s.example.com/3,in stock,\n"
        "1.23457E+18,Mangled id,10.00 USD,,https://s.example.com/4,in stock,\n"
        "BAD-1,Sale above price,10.00 USD,12.00 USD,https://s.example.com/5,in stock,\n"
        "BAD-2,Bad gtin,10.00 USD,,https://s.example.com/6,in stock,4006381333932\n"
        "BAD-3,,0.00 USD,,not-a-url,someday,\n"
    )
    result = upload(write(tmp_path, "feed.csv", text), merchant)
    assert (result.rows_read, result.accepted, result.rejected) == (7, 1, 6)
    assert set(products(merchant)) == {"OK-1"}
    found = quarantine(merchant)
    assert (3, "duplicate_id", "id", "DUP") in found and (4, "duplicate_id", "id", "DUP") in found
    assert (5, "id_spreadsheet_mangled", "id", "1.23457E+18") in found
    assert (6, "sale_price_not_above_price", "sale_price", "12.00 USD") in found
    assert (7, "gtin_check_digit", "gtin", "4006381333932") in found
    assert {
        (8, "required_title", "title", None),
        (8, "price_positive", "price", "0.00 USD"),
        (8, "link_url", "link", "not-a-url"),
        (8, "availability_value", "availability", "someday"),
    } <= set(found)


def test_replay_is_a_no_op_and_changes_are_counted(adreel_env, merchant, tmp_path):
    first = (
        "id,title,price,link\nA,Mug,9.00 USD,https://s.example.com/a\n"
        "B,Cup,5.00 USD,https://s.example.com/b\nC,Pot,7.00 USD,https://s.example.com/c\n"
    )
    path = write(tmp_path, "feed.csv", first)
    assert upload(path, merchant).created == 3
    again = upload(path, merchant)
    assert (again.replayed, again.version) == (True, 1)

    second = (
        "id,title,price,link\nA,Mug,9.00 USD,https://s.example.com/a\n"
        "B,Cup,6.00 USD,https://s.example.com/b\nD,Jar,3.00 USD,https://s.example.com/d\n"
    )
    changed = upload(write(tmp_path, "feed.csv", second), merchant)
    assert (
        changed.version,
        changed.created,
        changed.updated,
        changed.unchanged,
        changed.removed,
    ) == (2, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"id,title,price\n", "header but no products"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary file"),
        (b"sku,name,cost\nA,B,C\n", "unknown columns"),
    ],
)
def test_unusable_files_fail_with_one_clear_line(adreel_env, merchant, tmp_path, content, message):
    path = write(tmp_path, "feed.csv", content)
    result = run_adreel("catalog", "upload", "--merchant", merchant, str(path), env=adreel_env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert str(path) in result.stderr
    assert products(merchant) == {}


def test_images_are_normalised_and_a_bad_one_quarantines_only_its_product(
    adreel_env, merchant, tmp_path
):
    Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", "JPEG")
    Image.new("RGBA", (20, 20), (255, 0, 0, 128)).save(tmp_path / "alpha.png")
    frames = [Image.new("P", (10, 10), i) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (16, 16), "blue").save(tmp_path / "pic.webp", "WEBP")
    (tmp_path / "broken.jpg").write_bytes(b"not an image at all")
    rows = "".join(
        f"I{n},Item {n},5.00 USD,https://s.example.com/{n},{image}\n"
        for n, image in enumerate(
            [
                "cmyk.jpg",
                "alpha.png",
                "anim.gif",
                "pic.webp",
                "broken.jpg",
                f"file://{tmp_path}/alpha.png",
                "missing.png",
            ]
        )
    )
    result = upload(
        write(tmp_path, "feed.csv", "id,title,price,link,image_link\n" + rows), merchant
    )
    assert (result.accepted, result.rejected) == (5, 2)
    rules = {(row, rule) for row, rule, _, _ in quarantine(merchant)}
    assert rules == {(6, "image_decode"), (8, "image_fetch")}
    cmyk = Image.open(io.BytesIO(services().store.read(products(merchant)["I0"]["image_key"])))
    alpha = Image.open(io.BytesIO(services().store.read(products(merchant)["I1"]["image_key"])))
    assert (cmyk.mode, alpha.mode) == ("RGB", "RGBA")


def test_two_uploads_for_one_merchant_are_serialised(adreel_env, merchant, tmp_path):
    paths = [
        write(
            tmp_path,
            f"feed{n}.csv",
            f"id,title,price,link\nA,Mug {n},9.00 USD,https://s.example.com/a\n",
        )
        for n in range(2)
    ]
    results = []
    threads = [
        threading.Thread(target=lambda p=p: results.append(upload(p, merchant))) for p in paths
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.version for r in results) == [1, 2]


def test_reader_streams_in_chunks(tmp_path):
    path = tmp_path / "big.tsv"
    with open(path, "w") as handle:
        handle.write("id\ttitle\tprice\n")
        for n in range(120_000):
            handle.write(f"ID{n}\tItem {n}\t1.00 USD\n")
    sizes = [len(chunk) for chunk in read_chunks(path, "google", 50_000, None)]
    assert sizes == [50_000, 50_000, 20_000]


def test_cli_upload_json_and_report(adreel_env, merchant, tmp_path):
    path = write(
        tmp_path,
        "feed.csv",
        "id,title,price,link\nA,Mug,9.00 USD,https://s.example.com/a\n"
        "B,Cup,-1 USD,https://s.example.com/b\n",
    )
    result = run_adreel(
        "catalog", "upload", "--merchant", merchant, str(path), "--json", env=adreel_env
    )
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("rows_read", "accepted", "rejected", "created", "version")} == {
        "rows_read": 2,
        "accepted": 1,
        "rejected": 1,
        "created": 1,
        "version": 1,
    }
    assert summary["rule_counts"] == {"price_positive": 1}
    report = tmp_path / "report.html"
    made = run_adreel(
        "catalog", "report", "--merchant", merchant, "--out", str(report), env=adreel_env
    )
    assert made.returncode == 0, made.stderr
    assert "price_positive" in report.read_text()
    rejected = (tmp_path / "report-rejected.csv").read_text().splitlines()
    assert rejected[1].startswith("3,price_positive (price),B,Cup")


def test_bom_header_is_read(adreel_env, merchant, tmp_path):
    path = write(tmp_path, "feed.csv", codecs.BOM_UTF8 + b"id,title,price\nA,Mug,1.00 USD\n")
    assert upload(path, merchant).accepted == 1


def test_deferred_images_are_fetched_later(adreel_env, merchant, tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "ok.png")
    feed = write(
        tmp_path,
        "feed.csv",
        "id,title,price,image_link\nD1,One,1.00 USD,ok.png\nD2,Two,1.00 USD,gone.png\n",
    )
    upload(feed, merchant, images="defer")
    assert {p["image_status"] for p in products(merchant).values()} == {"pending"}
    result = run_adreel(
        "catalog",
        "fetch-images",
        "--merchant",
        merchant,
        "--base-dir",
        str(tmp_path),
        "--json",
        env=adreel_env,
    )
    assert json.loads(result.stdout) == {"merchant_id": merchant, "ready": 1, "failed": 1}
    stored = products(merchant)
    assert stored["D1"]["image_status"] == "ready" and stored["D1"]["image_key"]
    assert stored["D2"]["image_status"] == "failed" and "gone.png" in stored["D2"]["image_error"]


def test_images_are_fetched_over_http(adreel_env, merchant, tmp_path):
    import functools
    import http.server
    import threading

    Image.new("RGB", (12, 12), "green").save(tmp_path / "pic.png")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        feed = write(
            tmp_path,
            "feed.csv",
            "id,title,price,image_link\n"
            f"H1,Served,1.00 USD,{base}/pic.png\nH2,Gone,1.00 USD,{base}/gone.png\n",
        )
        result = upload(feed, merchant)
    finally:
        server.shutdown()
    assert (result.accepted, result.rejected) == (1, 1)
    assert [(row, rule) for row, rule, _, _ in quarantine(merchant)] == [(3, "image_fetch")]
    png = services().store.read(products(merchant)["H1"]["image_key"])
    assert Image.open(io.BytesIO(png)).size == (12, 12)


def test_meta_feed_is_recognised_by_its_category_column_alone(adreel_env, merchant, tmp_path):
    path = write(
        tmp_path,
        "meta.csv",
        "id,title,price,fb_product_category\nM-9,Scarf,9.00 USD,Clothing & Accessories > Scarves\n",
    )
    assert upload(path, merchant).format == "meta"
