"""``adreel render`` makes one ad from catalog products, as a user runs it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.sample import write_sample_catalog
from tests.helpers.cli import cli_json, cli_ok, run_adreel
from tests.helpers.media import frame_at, last_frame, probe


@pytest.fixture(scope="module")
def merchant(adreel_env, tmp_path_factory) -> str:
    merchant = f"render-{uuid.uuid4().hex[:8]}"
    catalog = write_sample_catalog(tmp_path_factory.mktemp("render-sample"))
    cli_ok("catalog", "upload", "--merchant", merchant, str(catalog), env=adreel_env)
    return merchant


def test_render_one_ad_with_a_brand_kit(adreel_env, merchant, tmp_path):
    Image.new("RGBA", (300, 120), (20, 20, 20, 255)).save(tmp_path / "logo.png")
    (tmp_path / "brand.yaml").write_text(
        "name: Northpeak\nlogo: logo.png\nprimary: '#0a84ff'\nsecondary: '#ffffff'\n"
        "call_to_action: {de: Jetzt entdecken}\n"
    )
    result = cli_json(
        "render", "--merchant", merchant, "--product", "SKU-1001", "--template", "showcase",
        "--format", "1x1", "--locale", "de_DE", "--brand", str(tmp_path / "brand.yaml"),
        "--preview", "--out", str(tmp_path), env=adreel_env,
    )  # fmt: skip
    info = probe(Path(result["video"]))
    assert (info.width, info.height) == (1280, 1280)  # the preview size of 1:1
    assert info.duration_s == pytest.approx(6.0, abs=1 / 30)
    assert Path(result["poster"]).is_file() and Path(result["thumbnail"]).is_file()


def test_render_uses_the_merchants_stored_brand_kit(adreel_env, merchant, tmp_path):
    (tmp_path / "brand.yaml").write_text("name: Stored Kit\nprimary: '#ff0000'\n")
    cli_ok("brand", "set", merchant, "--file", str(tmp_path / "brand.yaml"), env=adreel_env)
    result = cli_json(
        "render", "--merchant", merchant, "--product", "SKU-1001", "--template", "showcase",
        "--format", "1x1", "--preview", "--out", str(tmp_path), env=adreel_env,
    )  # fmt: skip
    corner = last_frame(Path(result["video"]))[4, 4].astype(int)
    assert np.abs(corner - (255, 0, 0)).max() <= 12  # the end card in the kit's primary


def test_render_without_a_clip_animates_the_product_with_the_motion_tier(
    adreel_env, merchant, tmp_path
):
    """No --clip: the ad shows the product in motion (the CPU tier), as a campaign's
    would, and passes the visual check; the 16:9 panel beside the clip is its backdrop."""
    result = run_adreel(
        "render", "--merchant", merchant, "--product", "SKU-1001", "--template", "showcase",
        "--format", "16x9", "--preview", "--out", str(tmp_path), "--json", env=adreel_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "visual check" not in result.stderr
    video = Path(json.loads(result.stdout.strip().splitlines()[-1])["video"])
    early, later = frame_at(video, 0.5), frame_at(video, 2.5)
    clip = np.s_[:, : early.shape[1] // 2]  # showcase's 16:9 clip box: the left half
    assert np.abs(early[clip].astype(int) - later[clip]).mean() > 2  # the product moves


def test_unknown_template_is_one_line_listing_the_known_ones(adreel_env, merchant, tmp_path):
    result = run_adreel(
        "render", "--merchant", merchant, "--product", "SKU-1001", "--template", "promo",
        "--out", str(tmp_path), env=adreel_env,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "adreel: unknown template 'promo'; known: showcase, sale, carousel, feature"
    )
    assert not list(tmp_path.iterdir())  # nothing partial written


def test_bad_brand_kit_names_the_field(adreel_env, merchant, tmp_path):
    (tmp_path / "brand.yaml").write_text("name: X\nprimary: blue\n")
    result = run_adreel(
        "render", "--merchant", merchant, "--product", "SKU-1001",
        "--brand", str(tmp_path / "brand.yaml"), "--out", str(tmp_path / "out"), env=adreel_env,
    )  # fmt: skip
    assert result.returncode == 1
    assert "primary: 'blue' is not a colour like '#ffc400'" in result.stderr
