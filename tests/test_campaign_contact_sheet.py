"""The previews' contact sheet, as an account manager uses it before approving: one PNG
with a labelled cell per preview poster, filtered by decision, from the CLI and from a
run that ends awaiting approval."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from campaigns.delivery import DECISION_COLOURS
from catalog.sample import write_sample_catalog
from composer.contact_sheet import (
    COLUMNS,
    HEADER_HEIGHT,
    PAD,
    PREVIEW_LABEL_HEIGHT,
    THUMB_WIDTH,
)
from storage.services import services
from tests.helpers.campaigns import (
    SAMPLE_IDS,
    create_campaign,
    merchant_with_catalog,
)
from tests.helpers.cli import cli_json, cli_ok, run_adreel

PRODUCTS = SAMPLE_IDS[:3]


@pytest.fixture(scope="module")
def reviewed(adreel_env, tmp_path_factory) -> dict:
    """A campaign run to its previews (one per product), the first approved, the second
    rejected, the third pending; with each preview's poster as stored."""
    env, tmp_path = adreel_env, tmp_path_factory.mktemp("contact-sheet")
    catalog = write_sample_catalog(tmp_path)
    merchant = merchant_with_catalog(env, catalog, tmp_path, "[raas]", pack=None)
    campaign = create_campaign(env, merchant, tmp_path, products={"ids": PRODUCTS})
    run = cli_json("campaign", "run", campaign, env=env)
    assert run["status"] == "awaiting_approval" and run["previews"]["rendered"] == 3
    previews = cli_json("campaign", "status", campaign, env=env)["materials"]
    assert [p["product_id"] for p in previews] == PRODUCTS
    asset_ids = [p["preview_asset_id"] for p in previews]
    cli_ok("campaign", "approve", campaign, "--assets", str(asset_ids[0]), env=env)
    cli_ok("campaign", "reject", campaign, "--assets", str(asset_ids[1]), "--reason", "x", env=env)

    assets = cli_json("assets", "list", "--merchant", merchant, "--campaign", campaign, env=env)
    by_id = {a["asset_id"]: a for a in assets["assets"]}
    poster_keys = {
        a["request_hash"]: a["object_key"] for a in assets["assets"] if a["kind"] == "poster"
    }
    store = services().store
    posters = [
        Image.open(io.BytesIO(store.read(poster_keys[by_id[i]["request_hash"]]))).convert("RGB")
        for i in asset_ids
    ]
    return {"env": env, "campaign": campaign, "run": run, "posters": posters}


def contact_sheet(reviewed: dict, out: Path, *options: str) -> tuple[dict, Image.Image]:
    shown = cli_json(
        "campaign", "contact-sheet", reviewed["campaign"], "--out", str(out), *options,
        env=reviewed["env"],
    )  # fmt: skip
    return shown, Image.open(out)


def cell_geometry(sheet: Image.Image, count: int, poster: Image.Image) -> tuple[int, int, int]:
    """Check the sheet is a grid of ``count`` cells; return cell width, cell height and
    the height of a poster scaled to the cell width."""
    thumb_height = round(poster.height * THUMB_WIDTH / poster.width)
    cell_width, cell_height = THUMB_WIDTH + 2 * PAD, thumb_height + PREVIEW_LABEL_HEIGHT + 2 * PAD
    columns, rows = min(COLUMNS, count), -(-count // COLUMNS)
    assert sheet.size == (columns * cell_width, HEADER_HEIGHT + rows * cell_height)
    return cell_width, cell_height, thumb_height


def cell(sheet: Image.Image, index: int, count: int, poster: Image.Image):
    """The poster area and the label area of cell ``index``, as arrays."""
    cell_width, cell_height, thumb_height = cell_geometry(sheet, count, poster)
    x = (index % COLUMNS) * cell_width + PAD
    y = HEADER_HEIGHT + (index // COLUMNS) * cell_height + PAD
    pixels = np.asarray(sheet.convert("RGB"), dtype=np.int16)
    return (
        pixels[y : y + thumb_height, x : x + THUMB_WIDTH],
        pixels[y + thumb_height : y + thumb_height + PREVIEW_LABEL_HEIGHT, x : x + THUMB_WIDTH],
    )


def scaled(poster: Image.Image, height: int) -> np.ndarray:
    resized = poster.resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.int16)


def tag_pixels(label: np.ndarray, decision: str) -> int:
    """Pixels of the label area in the colour of ``decision``'s tag."""
    return int(np.all(label == DECISION_COLOURS[decision][0], axis=-1).sum())


def assert_cell_shows(sheet, index, count, posters, shown, decision) -> None:
    """Cell ``index`` holds poster ``shown`` (not another) and the tag of ``decision``."""
    area, label = cell(sheet, index, count, posters[shown])
    own = np.abs(area - scaled(posters[shown], area.shape[0])).mean()
    others = [
        np.abs(area - scaled(p, area.shape[0])).mean() for i, p in enumerate(posters) if i != shown
    ]
    assert own < 2, f"cell {index} differs from its poster by {own:.1f} on average"
    assert min(others) > 5 * own + 3, f"cell {index} looks like another poster: {others}"
    assert tag_pixels(label, decision) > 100
    assert all(tag_pixels(label, d) == 0 for d in DECISION_COLOURS if d != decision)


def test_the_sheet_has_one_labelled_cell_per_preview_poster(reviewed, tmp_path):
    out = tmp_path / "review" / "sheet.png"
    shown, sheet = contact_sheet(reviewed, out)
    assert shown == {
        "campaign_id": reviewed["campaign"],
        "path": str(out),
        "count": 3,
        "status": "all",
    }
    assert sheet.format == "PNG"
    posters = reviewed["posters"]
    for index, decision in enumerate(["approved", "rejected", "pending"]):
        assert_cell_shows(sheet, index, 3, posters, index, decision)


def test_the_status_option_keeps_previews_with_that_decision(reviewed, tmp_path):
    posters = reviewed["posters"]
    for shown_index, decision in enumerate(["approved", "rejected", "pending"]):
        out = tmp_path / f"{decision}.png"
        shown, sheet = contact_sheet(reviewed, out, "--status", decision)
        assert (shown["count"], shown["status"]) == (1, decision)
        assert_cell_shows(sheet, 0, 1, posters, shown_index, decision)


def test_a_run_awaiting_approval_writes_the_pending_previews_sheet(reviewed):
    path = Path(reviewed["run"]["preview_sheet"])
    assert path.parent == Path(reviewed["run"]["delivery"]["manifest_csv"]).parent
    sheet = Image.open(path)
    assert sheet.format == "PNG"
    # At the end of the run nothing was decided yet: every preview was pending.
    for index in range(3):
        assert_cell_shows(sheet, index, 3, reviewed["posters"], index, "pending")


def test_an_unknown_campaign_or_one_without_previews_fails_in_one_line(
    reviewed, adreel_env, tmp_path
):
    out = tmp_path / "sheet.png"
    unknown = run_adreel("campaign", "contact-sheet", "no-such-campaign", "--out", str(out))
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == [
        "adreel: no campaign 'no-such-campaign'; `adreel campaign list` shows them"
    ]
    merchant = reviewed["run"]["merchant_id"]
    never_run = create_campaign(adreel_env, merchant, tmp_path, products={"ids": PRODUCTS[:1]})
    empty = run_adreel("campaign", "contact-sheet", never_run, "--out", str(out))
    assert empty.returncode == 1
    assert empty.stderr.strip().splitlines() == [
        f"adreel: campaign {never_run} has no previews yet; `adreel campaign run {never_run}` "
        "renders them"
    ]
    assert not out.exists()
