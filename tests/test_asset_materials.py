"""Assets are listed and downloaded by material: two languages of one ad never look
alike or share a file name, and a download never replaces a file silently."""

from __future__ import annotations

import pytest

from catalog.upload import upload_catalog
from composer import ComposedAd
from generation.delivery import DownloadExists, download_asset, merchant_assets
from generation.jobs import RenderJob, get_render_jobs, plan_render_job
from generation.profiles import render_profile
from generation.rendering import save_outputs
from storage.services import services
from tests.helpers.cli import cli_json, run_adreel
from tests.helpers.ledger import new_merchant


def store_ad(merchant: str, locale: str, tmp_path) -> None:
    job = RenderJob(
        merchant_id=merchant,
        product_id="P1",
        model="builtin:tiny",
        profile=render_profile("builtin:tiny", "final"),
        prompt="a mug",
        negative_prompt="",
        seed=0,
        product_hash="",
        image_key=None,
        duration_s=6.0,
        output_width=1080,
        output_height=1920,
        locale=locale,
        request_hash=f"{merchant}-{locale}",
    )
    with services().db.connection() as conn:
        plan_render_job(conn, job)
        job = RenderJob.from_row(get_render_jobs(conn, [job.request_hash])[0])
    out = tmp_path / locale
    out.mkdir()
    (out / "ad.mp4").write_bytes(f"video {locale}".encode() * 100)
    (out / "ad.jpg").write_bytes(f"poster {locale}".encode() * 10)
    ad = ComposedAd(out / "ad.mp4", out / "ad.jpg", 1080, 1920, 6.0)
    save_outputs(job, ad, "adreel", services().db, services().store)


@pytest.fixture
def two_languages(adreel_env, tmp_path):
    with services().db.connection() as conn:
        merchant = new_merchant(conn, "mat")
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,price\nP1,Mug,9.00 USD\n")
    upload_catalog(services(), merchant, feed)
    for locale in ("en_US", "de_DE"):
        store_ad(merchant, locale, tmp_path)
    return merchant


def test_assets_list_shows_the_material(two_languages, adreel_env):
    listed = cli_json("assets", "list", "--merchant", two_languages, env=adreel_env)["assets"]
    videos = [a for a in listed if a["kind"] == "video"]
    assert sorted(
        (a["template"], a["format"], a["language"], a["material_variant"], a["profile"])
        for a in videos
    ) == [("showcase", "9x16", "de_DE", 0, "final"), ("showcase", "9x16", "en_US", 0, "final")]


def test_downloads_are_named_by_material_and_never_replace_silently(two_languages, tmp_path):
    merchant = two_languages
    videos = [a for a in merchant_assets(services(), merchant) if a["kind"] == "video"]
    target = tmp_path / "out"
    written = [download_asset(services(), merchant, a["asset_id"], target) for a in videos]
    names = sorted(path.name for path, _ in written)
    assert names == [
        "P1-showcase-9x16-de_DE-v0-final-video.mp4",
        "P1-showcase-9x16-en_US-v0-final-video.mp4",
    ]
    assert {outcome for _, outcome in written} == {"written"}
    first = videos[0]["asset_id"]
    assert download_asset(services(), merchant, first, target)[1] == "unchanged"

    path = written[0][0]
    path.write_bytes(b"the merchant's own edit")
    with pytest.raises(DownloadExists, match="--overwrite"):
        download_asset(services(), merchant, first, target)
    assert path.read_bytes() == b"the merchant's own edit"
    assert download_asset(services(), merchant, first, target, overwrite=True)[1] == "replaced"
    assert path.read_bytes() != b"the merchant's own edit"


def test_cli_download_refuses_to_overwrite_in_one_line(two_languages, adreel_env, tmp_path):
    merchant = two_languages
    video = next(a for a in merchant_assets(services(), merchant) if a["kind"] == "video")
    path, _ = download_asset(services(), merchant, video["asset_id"], tmp_path)
    path.write_bytes(b"other")
    refused = run_adreel(
        "assets",
        "download",
        str(video["asset_id"]),
        str(tmp_path),
        "--merchant",
        merchant,
        env=adreel_env,
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "already exists" in refused.stderr and path.read_bytes() == b"other"
