"""The end-to-end demo through the Prefect flow: sample catalog to stored, playable ads.

Runs the CLI as a user would, against the test database and S3 over HTTP.
"""

from __future__ import annotations

import json

import boto3
import pytest

from generation.metering import tokens_for
from tests.helpers.cli import run_adreel
from tests.helpers.media import probe
from tests.helpers.services import TEST_BUCKET


@pytest.fixture(scope="module")
def first_run(adreel_env):
    result = run_adreel("demo", "--merchant", "demo-e2e", "--json", env=adreel_env, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_demo_stores_one_playable_9x16_mp4_per_sample_product(first_run, s3_endpoint, tmp_path):
    videos = [a for a in first_run["assets"] if a["kind"] == "video"]
    assert len(videos) == 20
    assert len({v["product_id"] for v in videos}) == 20
    assert first_run["renders"] == {"rendered": 20, "reused": 0}
    assert first_run["usage_tokens"] == 20 * tokens_for(96, 160, 9)  # the preview profile
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    for video in videos[:3]:
        path = tmp_path / f"{video['asset_id']}.mp4"
        s3.download_file(TEST_BUCKET, video["object_key"], str(path))
        info = probe(path)
        assert (info.codec, info.pixel_format, info.width, info.height) == (
            "h264",
            "yuv420p",
            720,
            1280,
        )


def test_second_demo_run_reuses_everything(first_run, adreel_env):
    again = run_adreel("demo", "--merchant", "demo-e2e", "--json", env=adreel_env, timeout=600)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["renders"] == {"rendered": 0, "reused": 20}
    assert summary["usage_tokens"] == first_run["usage_tokens"]  # nothing metered twice
    assert summary["catalog"]["replayed"] is True
    first_ids = sorted(a["asset_id"] for a in first_run["assets"])
    assert sorted(a["asset_id"] for a in summary["assets"]) == first_ids

    listed = run_adreel("assets", "list", "--merchant", "demo-e2e", "--json", env=adreel_env)
    assert len(json.loads(listed.stdout)["assets"]) == 60  # a video, a poster, a thumbnail each
