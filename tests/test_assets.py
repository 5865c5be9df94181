"""Assets: objects before rows, tenant-isolated links, verified downloads, the sweep."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import urlparse

import boto3
import pytest

from catalog.upload import upload_catalog
from composer import ComposedAd
from generation.jobs import RenderJob, get_render_jobs, plan_render_job, usage_for_renders
from generation.profiles import render_profile
from generation.rendering import save_outputs
from storage.objects import StorageError
from storage.s3_store import S3Store
from storage.services import services
from tests.helpers.cli import run_adreel
from tests.helpers.ledger import new_merchant
from tests.helpers.proxy import DroppingProxy
from tests.helpers.services import TEST_BUCKET


def planned_job(merchant: str, tmp_path) -> RenderJob:
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,price\nP1,Mug,9.00 USD\n")
    upload_catalog(services(), merchant, feed)
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
        request_hash=f"{merchant}-job",
    )
    with services().db.connection() as conn:
        plan_render_job(conn, job)
        return RenderJob.from_row(get_render_jobs(conn, [job.request_hash])[0])


def composed(tmp_path, tag: str) -> ComposedAd:
    (tmp_path / "ad.mp4").write_bytes(f"video {tag}".encode() * 100)
    (tmp_path / "ad.jpg").write_bytes(f"poster {tag}".encode() * 10)
    return ComposedAd(tmp_path / "ad.mp4", tmp_path / "ad.jpg", 1080, 1920, 6.0)


def asset_rows(merchant: str) -> list[dict]:
    with services().db.connection() as conn:
        return conn.execute(
            "SELECT * FROM assets WHERE merchant_id = %s ORDER BY kind", (merchant,)
        ).fetchall()


@pytest.fixture
def stored(adreel_env, tmp_path):
    """A merchant with a final ad and poster stored through the real write path."""
    with services().db.connection() as conn:
        merchant = new_merchant(conn, "assets")
    job = planned_job(merchant, tmp_path)
    save_outputs(job, composed(tmp_path, merchant), "adreel", services().db, services().store)
    return merchant, asset_rows(merchant)


def test_a_failed_upload_writes_no_row(adreel_env, tmp_path, s3_endpoint):
    with services().db.connection() as conn:
        merchant = new_merchant(conn, "fail")
    job = planned_job(merchant, tmp_path)
    proxy = DroppingProxy(urlparse(s3_endpoint).port, drops=10**6)
    failing = S3Store(TEST_BUCKET, endpoint_url=proxy.url, path_style=True, max_attempts=2)
    with pytest.raises(StorageError, match="failed after 2 attempts"):
        save_outputs(job, composed(tmp_path, "x"), "adreel", services().db, failing)
    assert asset_rows(merchant) == []
    with services().db.connection() as conn:
        assert get_render_jobs(conn, [job.request_hash])[0]["status"] == "planned"
        assert usage_for_renders(conn, [job.request_hash]) == []  # no charge for a failure


def test_stored_assets_carry_key_layout_and_checksum(stored):
    merchant, rows = stored
    video = next(r for r in rows if r["kind"] == "video")
    assert video["object_key"] == (
        f"adreel/merchants/{merchant}/assets/{video['sha256']}/9x16-final.mp4"
    )
    assert services().store.exists(video["object_key"])


def test_url_is_issued_only_to_the_owner(stored, adreel_env):
    merchant, rows = stored
    asset_id = str(rows[0]["asset_id"])
    own = run_adreel(
        "assets", "url", asset_id, "--merchant", merchant, "--expires", "60", env=adreel_env
    )
    assert own.returncode == 0, own.stderr
    with urllib.request.urlopen(own.stdout.strip()) as response:
        assert response.read() == services().store.read(rows[0]["object_key"])
    other = run_adreel("assets", "url", asset_id, "--merchant", "someone-else", env=adreel_env)
    nobody = run_adreel("assets", "url", "999999999", "--merchant", "someone-else", env=adreel_env)
    assert other.returncode == nobody.returncode == 1
    assert other.stderr.replace(asset_id, "N") == nobody.stderr.replace("999999999", "N")


def test_download_verifies_the_checksum(stored, adreel_env, tmp_path, s3_endpoint):
    merchant, rows = stored
    video = next(r for r in rows if r["kind"] == "video")
    ok = run_adreel(
        "assets",
        "download",
        str(video["asset_id"]),
        str(tmp_path / "ok"),
        "--merchant",
        merchant,
        env=adreel_env,
    )
    assert ok.returncode == 0, ok.stderr
    assert "sha256 verified" in ok.stderr
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1").put_object(
        Bucket=TEST_BUCKET, Key=video["object_key"], Body=b"tampered"
    )
    bad = run_adreel(
        "assets",
        "download",
        str(video["asset_id"]),
        str(tmp_path / "bad"),
        "--merchant",
        merchant,
        env=adreel_env,
    )
    assert bad.returncode == 1 and "checksum mismatch" in bad.stderr
    assert list((tmp_path / "bad").iterdir()) == []


def test_sweep_marks_rows_whose_object_vanished_and_keeps_them(stored, adreel_env):
    merchant, rows = stored
    poster = next(r for r in rows if r["kind"] == "poster")
    services().store.delete(poster["object_key"])
    dry = json.loads(run_adreel("assets", "sweep", "--json", env=adreel_env).stdout)
    assert poster["asset_id"] in dry["missing_asset_ids"] and not dry["applied"]
    applied = json.loads(run_adreel("assets", "sweep", "--apply", "--json", env=adreel_env).stdout)
    assert poster["asset_id"] in applied["missing_asset_ids"]
    after = {r["kind"]: r for r in asset_rows(merchant)}
    assert after["poster"]["missing_at"] is not None and after["video"]["missing_at"] is None


def test_a_stored_render_records_its_usage_once(stored, tmp_path):
    merchant, rows = stored
    job_hash = rows[0]["request_hash"]
    with services().db.connection() as conn:
        job = RenderJob.from_row(get_render_jobs(conn, [job_hash])[0])
    save_outputs(job, composed(tmp_path, merchant), "adreel", services().db, services().store)
    with services().db.connection() as conn:
        usage = usage_for_renders(conn, [job_hash])
    assert len(usage) == 1  # the second save (a redelivery) added nothing
    assert usage[0]["tokens"] == -(-160 * 288 * 17 // 1024)  # ceil(w*h*frames/1024)
    assert len(asset_rows(merchant)) == 2
