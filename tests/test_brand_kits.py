"""Brand kits per merchant (``adreel brand set|show``) and the campaign renders that use
them. The same campaign run (kept to one: renders cost time) also checks that thumbnails
are stored as assets and that products without a usable image render all the same."""

from __future__ import annotations

import hashlib
import shutil
from io import BytesIO
from pathlib import Path

import boto3
import numpy as np
import pytest
from PIL import Image

from composer import fonts
from composer.kits import read_kit_file
from storage.errors import AdreelError
from storage.services import services
from tests.helpers.campaigns import (
    create_campaign,
    merchant_with_catalog,
    render_counts,
)
from tests.helpers.cli import cli_json, cli_ok, run_adreel
from tests.helpers.ledger import new_merchant
from tests.helpers.media import last_frame
from tests.helpers.services import TEST_BUCKET

FONT = fonts._NOTO / "NotoSansArmenian[wght].ttf"  # small, and a real font
RED_KIT = """\
name: Northpeak
logo: logo.png
primary: "#FF0000"
secondary: "#102030"
font: brand.ttf
call_to_action: {en: Get yours}
"""


def write_kit(directory: Path, text: str = RED_KIT) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    logo = Image.new("RGBA", (240, 90), (0, 0, 0, 0))
    logo.paste((255, 255, 255, 255), (20, 20, 220, 70))
    logo.save(directory / "logo.png")
    shutil.copy(FONT, directory / "brand.ttf")
    path = directory / "brand.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def shop(adreel_env, tmp_path_factory) -> str:
    """A merchant with three products: one image, none in the feed, one whose object is
    lost after upload; a contract and tokens."""
    folder = tmp_path_factory.mktemp("brand-shop")
    for name, colour in (("p1.png", (40, 160, 90)), ("p3.png", (200, 120, 30))):
        product = Image.new("RGB", (96, 96), (255, 255, 255))  # a product shot on white
        product.paste(colour, (24, 16, 72, 80))
        product.save(folder / name)
    feed = folder / "feed.csv"
    feed.write_text(
        "id,title,price,brand,image_link\n"
        "P1,Trail mug,12.00 USD,Northpeak,p1.png\n"
        "P2,Trail cap,15.00 USD,Northpeak,\n"
        "P3,Trail socks,9.00 USD,Northpeak,p3.png\n"
    )
    return merchant_with_catalog(adreel_env, feed, folder)


@pytest.fixture(scope="module")
def kit_file(tmp_path_factory) -> Path:
    return write_kit(tmp_path_factory.mktemp("kit"))


def test_set_stores_the_kit_and_show_reads_it_back(adreel_env, shop, kit_file):
    saved = cli_json("brand", "set", shop, "--file", str(kit_file), env=adreel_env)
    assert saved["changed"] is True
    kit = cli_json("brand", "show", shop, env=adreel_env)["brand_kit"]
    assert (kit["name"], kit["primary_colour"], kit["secondary_colour"]) == (
        "Northpeak",
        "#ff0000",
        "#102030",
    )
    assert kit["call_to_action"] == {"en": "Get yours"}
    assert kit["font_name"] == "brand.ttf"
    assert kit["content_digest"] == saved["content_digest"]
    s3 = s3_client(adreel_env)
    for what, local in (("logo", kit_file.parent / "logo.png"), ("font", FONT)):
        stored = s3.get_object(Bucket=TEST_BUCKET, Key=kit[f"{what}_key"])["Body"].read()
        assert hashlib.sha256(stored).hexdigest() == kit[f"{what}_sha256"]
        assert stored == local.read_bytes()
        assert kit[f"{what}_key"].startswith(f"adreel/merchants/{shop}/")


def test_setting_the_same_kit_again_changes_nothing_and_says_so(adreel_env, shop, kit_file):
    cli_ok("brand", "set", shop, "--file", str(kit_file), env=adreel_env)
    before = cli_json("brand", "show", shop, env=adreel_env)["brand_kit"]
    again = run_adreel("brand", "set", shop, "--file", str(kit_file), env=adreel_env)
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stderr
    assert cli_json("brand", "show", shop, env=adreel_env)["brand_kit"] == before


def test_the_sweep_keeps_a_kits_files(adreel_env, shop, kit_file):
    cli_ok("brand", "set", shop, "--file", str(kit_file), env=adreel_env)
    kit = cli_json("brand", "show", shop, env=adreel_env)["brand_kit"]
    swept = cli_json("assets", "sweep", "--grace-hours", "0", env=adreel_env)
    assert kit["logo_key"] not in swept["orphans"] and kit["font_key"] not in swept["orphans"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('primary: "#FF0000"', "primary: red"), "primary: 'red' is not a colour like"),
        (("name: Northpeak", "name: Northpeak\ncolour: red"), "unknown field 'colour'"),
        (("logo: logo.png", "logo: gone.png"), "logo: no file"),
        (("logo: logo.png", "logo: brand.yaml"), "logo: "),
        (("font: brand.ttf", "font: logo.png"), "font: "),
        (("{en: Get yours}", "[Get, yours]"), "call_to_action: "),
    ],
)
def test_a_bad_kit_file_is_one_line_naming_the_file_and_field(tmp_path, change, message):
    path = write_kit(tmp_path, RED_KIT.replace(*change))
    with pytest.raises(AdreelError) as error:
        read_kit_file(path)
    assert str(error.value).startswith(f"{path}: ")
    assert message in str(error.value) and "\n" not in str(error.value)


def test_cli_refuses_a_broken_file_and_an_unknown_merchant_in_one_line(adreel_env, shop, tmp_path):
    broken = write_kit(tmp_path, "name: [Northpeak\n")
    result = run_adreel("brand", "set", shop, "--file", str(broken), env=adreel_env)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"adreel: {broken}: cannot read brand kit")
    bad_logo = write_kit(tmp_path / "bad-logo", RED_KIT.replace("logo.png", "brand.ttf"))
    result = run_adreel("brand", "set", shop, "--file", str(bad_logo), env=adreel_env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"adreel: {bad_logo}: logo: {bad_logo.parent / 'brand.ttf'} is not a readable image"
    )
    good = write_kit(tmp_path / "good")
    unknown = run_adreel("brand", "set", "nobody-here", "--file", str(good), env=adreel_env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == ("adreel: no merchant 'nobody-here'; upload its catalog first")
    shown = run_adreel("brand", "show", "nobody-here", env=adreel_env)
    assert shown.returncode == 1 and shown.stderr.count("\n") == 1


@pytest.fixture(scope="module")
def campaign_run(adreel_env, shop, kit_file, tmp_path_factory) -> tuple[str, dict]:
    """One preview run of the three products with the red kit stored, on the motion tier:
    its clips show the product image itself, so the ads show whether it was there."""
    cli_ok("brand", "set", shop, "--file", str(kit_file), env=adreel_env)
    with services().db.connection() as conn:
        lost = conn.execute(
            "SELECT image_key FROM products WHERE merchant_id = %s AND product_id = 'P3'",
            (shop,),
        ).fetchone()["image_key"]
    services().store.delete(lost)
    campaign = create_campaign(
        adreel_env,
        shop,
        tmp_path_factory.mktemp("brand-campaign"),
        products={"ids": ["P1", "P2", "P3"]},
    )
    motion = {**adreel_env, "ADREEL_MODEL": "builtin:motion", "ADREEL_QA_SKIP": ""}
    return campaign, cli_json("campaign", "run", campaign, env=motion)


def stored_assets(env: dict, shop: str, campaign: str) -> list[dict]:
    listed = cli_json("assets", "list", "--merchant", shop, "--campaign", campaign, env=env)
    return listed["assets"]


def s3_client(env: dict):
    return boto3.client("s3", endpoint_url=env["ADREEL_S3_ENDPOINT_URL"], region_name="us-east-1")


def test_campaign_end_card_is_in_the_stored_kits_primary_colour(
    adreel_env, shop, campaign_run, tmp_path
):
    campaign, summary = campaign_run
    assert summary["previews"]["rendered"] == 3 and summary["previews"]["failed"] == []
    (video,) = [
        a
        for a in stored_assets(adreel_env, shop, campaign)
        if a["product_id"] == "P1" and a["kind"] == "video"
    ]
    local = tmp_path / "p1.mp4"
    s3 = s3_client(adreel_env)
    s3.download_file(TEST_BUCKET, video["object_key"], str(local))
    frame = last_frame(local)
    corner = frame[: frame.shape[0] // 10, : frame.shape[1] // 10].reshape(-1, 3)
    red, green, blue = np.median(corner, axis=0)
    assert red > 235 and green < 25 and blue < 25, (red, green, blue)


def test_each_render_stores_its_thumbnail_as_an_asset(adreel_env, shop, campaign_run):
    campaign, _ = campaign_run
    assert all(c["assets"] == 3 and c["usage"] == 1 for c in render_counts(campaign))
    thumbnails = [a for a in stored_assets(adreel_env, shop, campaign) if a["kind"] == "thumbnail"]
    assert sorted(a["product_id"] for a in thumbnails) == ["P1", "P2", "P3"]
    s3 = s3_client(adreel_env)
    for thumbnail in thumbnails:
        assert max(thumbnail["width"], thumbnail["height"]) == 320
        head = s3.head_object(Bucket=TEST_BUCKET, Key=thumbnail["object_key"])
        assert head["ContentType"] == "image/jpeg"
        assert thumbnail["object_key"].endswith("-thumb.jpg")
    # Rows point at them, so the sweep leaves them be.
    swept = cli_json("assets", "sweep", "--grace-hours", "0", env=adreel_env)
    assert not {t["object_key"] for t in thumbnails} & set(swept["orphans"])


def test_show_for_a_merchant_without_a_kit(adreel_env):
    with services().db.connection() as conn:
        merchant = new_merchant(conn, "nokit")
    shown = cli_json("brand", "show", merchant, env=adreel_env)
    assert shown == {"merchant_id": merchant, "brand_kit": None}


# Products without a usable image, in the same run.


def test_products_without_a_usable_image_render_and_the_run_says_why(campaign_run):
    campaign, summary = campaign_run
    warnings = {w["product_id"]: w["warning"] for w in summary["previews"]["warnings"]}
    assert sorted(warnings) == ["P2", "P3"]
    assert warnings["P2"] == "rendered without product image: the catalog has no image for it"
    assert warnings["P3"].startswith("rendered without product image: its image adreel/")
    assert warnings["P3"].endswith("is missing from the object store")
    with services().db.connection() as conn:
        jobs = conn.execute(
            "SELECT product_id, status, warning FROM render_jobs WHERE spec->>'campaign_id' = %s",
            (campaign,),
        ).fetchall()
    assert {j["product_id"]: j["status"] for j in jobs} == dict.fromkeys(["P1", "P2", "P3"], "done")
    assert {j["product_id"]: j["warning"] for j in jobs}["P1"] is None


def share_of_colour(image: Image.Image, colour: tuple[int, int, int]) -> float:
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).astype(int)
    return float((np.abs(pixels - colour).max(axis=1) < 24).mean())


def test_a_lost_image_is_not_in_the_ad_and_a_present_one_is(adreel_env, shop, campaign_run):
    campaign, _ = campaign_run
    posters = {
        a["product_id"]: a["object_key"]
        for a in stored_assets(adreel_env, shop, campaign)
        if a["kind"] == "poster"
    }
    s3 = s3_client(adreel_env)

    def poster(product_id: str) -> Image.Image:
        body = s3.get_object(Bucket=TEST_BUCKET, Key=posters[product_id])["Body"]
        return Image.open(BytesIO(body.read()))

    assert share_of_colour(poster("P1"), (40, 160, 90)) > 0.02  # P1's green product
    assert share_of_colour(poster("P3"), (200, 120, 30)) < 0.002  # P3's orange is lost
