"""Campaigns from the CLI, as an account manager and a merchant use them: previews,
decisions, finals, delivery and billing, and reruns that add nothing."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from campaigns.spec import CampaignFileError, campaign_from_dict
from catalog.sample import write_sample_catalog
from tests.helpers.campaigns import (
    FINAL_TOKENS,
    PREVIEW_TOKENS,
    SAMPLE_IDS,
    create_campaign,
    merchant_with_catalog,
    open_holds,
    render_counts,
    wallet,
)
from tests.helpers.cli import cli_json, run_adreel
from tests.helpers.media import probe
from tests.helpers.services import TEST_BUCKET


@pytest.fixture(scope="module")
def sample_catalog(tmp_path_factory) -> Path:
    return write_sample_catalog(tmp_path_factory.mktemp("campaign-sample"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"formats": ["4x5"]}, "f.yaml: formats: unknown format '4x5'; known: 16x9, 1x1, 9x16"),
        ({"templates": ["karaoke"]}, "f.yaml: templates: unknown template 'karaoke'"),
        (
            {"templates": ["showcase", "carousel"]},
            "f.yaml: templates: template 'carousel' shows 3 or more products in one ad",
        ),
        ({"schedule": {"cron": "every monday"}}, "f.yaml: schedule.cron: 'every monday' is not"),
        (
            {"schedule": {"cron": "0 6 * * 1", "timezone": "Asia/Shangai"}},
            "f.yaml: schedule.timezone: unknown time zone 'Asia/Shangai'",
        ),
        ({"products": {"price": {"min": 50, "max": 10}}}, "f.yaml: products.price: min 50"),
        ({"languages": ["xx_XX"]}, "f.yaml: languages: unknown language 'xx_XX'"),
        ({"duration_s": 7}, "f.yaml: duration_s: duration 7s; choose one of 6, 15, 30"),
        ({"variants": 0}, "f.yaml: variants: Input should be greater than or equal to 1"),
        ({"budget": 5}, "f.yaml: budget: unknown field"),
    ],
)
def test_a_bad_campaign_file_names_the_field(change, message):
    with pytest.raises(CampaignFileError) as error:
        campaign_from_dict({"campaign": "spring", **change}, "f.yaml")
    assert str(error.value).startswith(message)


def test_create_refuses_a_bad_file_in_one_line_and_saves_nothing(adreel_env, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("campaign: bad-one\nformats: ['4x5']\n")
    result = run_adreel("campaign", "create", "--merchant", "nobody", "--file", str(path))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"adreel: {path}: formats: unknown format '4x5'; known: 16x9, 1x1, 9x16"
    ]
    listed = cli_json("campaign", "list", env=adreel_env)
    assert "bad-one" not in [c["campaign_id"] for c in listed["campaigns"]]


def test_previews_then_decisions_then_delivered_finals_billed_once(
    adreel_env, sample_catalog, tmp_path
):
    env = adreel_env
    merchant = merchant_with_catalog(env, sample_catalog, tmp_path)
    products = SAMPLE_IDS[:3]
    campaign = create_campaign(env, merchant, tmp_path, products={"ids": products})

    first = cli_json("campaign", "run", campaign, env=env)
    assert first["status"] == "awaiting_approval"
    assert (first["previews"]["rendered"], first["finals"]["rendered"]) == (3, 0)
    assert first["decisions"] == {"pending": 3, "approved": 0, "rejected": 0}

    materials = cli_json("campaign", "status", campaign, env=env)["materials"]
    assert [m["product_id"] for m in materials] == products  # the file's order
    previews = {m["product_id"]: m["preview_asset_id"] for m in materials}
    approved = f"{previews[products[0]]},{previews[products[1]]}"
    run_adreel("campaign", "approve", campaign, "--assets", approved, env=env).check_returncode()
    rejected = run_adreel(
        "campaign",
        "reject",
        campaign,
        "--assets",
        str(previews[products[2]]),
        "--reason",
        "wrong colour",
        env=env,
    )
    assert rejected.returncode == 0, rejected.stderr

    second = cli_json("campaign", "run", campaign, env=env)
    assert second["status"] == "delivered"
    assert second["previews"]["reused"] == 3 and second["previews"]["rendered"] == 0
    assert second["finals"]["rendered"] == 2
    assert second["delivery"]["delivered"] == 2 and second["delivery"]["raas_charged"] == 2

    status = cli_json("campaign", "status", campaign, env=env)
    by_product = {m["product_id"]: m for m in status["materials"]}
    assert by_product[products[2]]["decision"] == "rejected"
    assert by_product[products[2]]["reason"] == "wrong colour"
    assert by_product[products[2]]["final_asset_id"] is None
    finals = {p: by_product[p]["final_asset_id"] for p in products[:2]}
    assert all(finals.values()) and all(by_product[p]["delivered_at"] for p in products[:2])

    with open(second["delivery"]["manifest_csv"], newline="") as handle:
        manifest = list(csv.DictReader(handle))
    assert {(r["product_id"], int(r["asset_id"])) for r in manifest} == set(finals.items())
    assert all(r["format"] == "9x16" and TEST_BUCKET in r["url"] for r in manifest)
    assert Image.open(second["delivery"]["contact_sheet"]).format == "JPEG"
    download = run_adreel(
        "assets",
        "download",
        str(finals[products[0]]),
        str(tmp_path / "dl"),
        "--merchant",
        merchant,
        env=env,
    )
    assert download.returncode == 0, download.stderr
    (final_video,) = (tmp_path / "dl").glob("*.mp4")
    info = probe(final_video)
    assert (info.codec, info.width, info.height) == ("h264", 1080, 1920)
    assert info.duration_s == pytest.approx(6, abs=0.2)

    # A delivered final's decision can no longer change.
    late = run_adreel(
        "campaign",
        "reject",
        campaign,
        "--assets",
        str(previews[products[0]]),
        "--reason",
        "changed my mind",
        env=env,
    )
    assert late.returncode == 1 and "nothing was changed" in late.stderr

    third = cli_json("campaign", "run", campaign, env=env)
    assert (third["previews"]["rendered"], third["finals"]["rendered"]) == (0, 0)
    assert third["delivery"]["raas_charged"] == 0  # re-delivery charges nothing
    assert all((c["assets"], c["usage"]) == (3, 1) for c in render_counts(campaign))
    assert len(render_counts(campaign)) == 5

    spent = 3 * PREVIEW_TOKENS + 2 * FINAL_TOKENS
    assert Decimal(wallet(env, merchant)["balance"]) == 100000 - spent
    accounts = cli_json("ledger", "balances", "--merchant", merchant, env=env)["accounts"]
    revenue = {(a["kind"], a["asset"]): Decimal(a["balance"]) for a in accounts}
    assert revenue[("revenue_raas", "USD")] == Decimal("8.00")
    # $1 per 1,000 tokens, each charge rounded to the cent; the pack's money is all there.
    assert abs(revenue[("revenue_tokens", "USD")] - Decimal(spent) / 1000) <= Decimal("0.025")
    deferred = revenue[("deferred_revenue", "USD")]
    assert revenue[("revenue_tokens", "USD")] + deferred == Decimal("100.00")
    assert cli_json("ledger", "verify", "--merchant", merchant, env=env)["ok"] is True

    # What each run cost is in sight: its tokens, their value and its RaaS charges, and
    # the runs' values add up to the revenue the ledger recognised.
    assert first["previews"]["tokens"] == 3 * PREVIEW_TOKENS
    assert second["finals"]["tokens"] == 2 * FINAL_TOKENS and second["previews"]["tokens"] == 0
    assert second["delivery"]["raas_amount"] == {"USD": "8.00"}
    assert third["delivery"]["raas_amount"] == {} and third["finals"]["tokens"] == 0
    runs = cli_json("campaign", "status", campaign, env=env)["runs"]
    assert sum(r["money"]["tokens"] for r in runs) == spent
    values = [Decimal(r["money"]["token_value"].get("USD", "0")) for r in runs]
    assert sum(values) == revenue[("revenue_tokens", "USD")]
    assert sum(Decimal(r["money"]["raas_amount"].get("USD", "0")) for r in runs) == 8


def test_a_wallet_that_runs_dry_stops_rendering_at_what_it_covers(
    adreel_env, sample_catalog, tmp_path
):
    env = {**adreel_env, "ADREEL_RENDER_BATCH_SIZE": "1"}  # holds taken two jobs at a time
    merchant = merchant_with_catalog(env, sample_catalog, tmp_path, pack="three-previews")
    campaign = create_campaign(env, merchant, tmp_path, products={"ids": SAMPLE_IDS[:5]})

    run = cli_json("campaign", "run", campaign, env=env)
    assert run["previews"]["rendered"] == 3
    assert [n["product_id"] for n in run["previews"]["not_rendered"]] == SAMPLE_IDS[3:5]
    assert all(n["reason"].startswith("wallet: needs") for n in run["previews"]["not_rendered"])
    assert wallet(env, merchant) == {
        "merchant_id": merchant,
        "balance": "0",
        "held": "0",
        "available": "0",
    }
    assert open_holds(merchant) == 0
    counts = render_counts(campaign)
    assert sum(c["usage"] for c in counts) == 3  # nothing metered past the wallet
    accounts = cli_json("ledger", "balances", "--merchant", merchant, env=env)["accounts"]
    revenue = {(a["kind"], a["asset"]): Decimal(a["balance"]) for a in accounts}
    assert revenue[("revenue_tokens", "USD")] == Decimal("4.05")  # the pack, recognised whole
    shown = run_adreel("campaign", "status", campaign, env=env)
    assert f"not rendered in the last run: {SAMPLE_IDS[3]}: wallet: needs" in shown.stderr


def test_the_campaign_budget_caps_renders_in_priority_order(adreel_env, sample_catalog, tmp_path):
    # RaaS only: no token wallet involved, the campaign's own budget is the limit.
    merchant = merchant_with_catalog(adreel_env, sample_catalog, tmp_path, "[raas]", pack=None)
    order = [SAMPLE_IDS[4], SAMPLE_IDS[0], SAMPLE_IDS[2]]
    campaign = create_campaign(
        adreel_env, merchant, tmp_path, products={"ids": order}, token_budget=2 * PREVIEW_TOKENS
    )
    run = cli_json("campaign", "run", campaign, env=adreel_env)
    assert run["previews"]["rendered"] == 2
    assert run["previews"]["not_rendered"] == [
        {
            "request_hash": run["previews"]["not_rendered"][0]["request_hash"],
            "product_id": order[2],
            "reason": f"campaign token budget: needs {PREVIEW_TOKENS} tokens, 0 left",
        }
    ]
    rendered = {
        m["product_id"]
        for m in cli_json("campaign", "status", campaign, env=adreel_env)["materials"]
        if m["preview_asset_id"]
    }
    assert rendered == set(order[:2])
    assert open_holds(merchant) == 0


def test_a_schedule_is_validated_listed_and_served(adreel_env, sample_catalog, tmp_path):
    merchant = merchant_with_catalog(adreel_env, sample_catalog, tmp_path, "[raas]", pack=None)
    campaign = create_campaign(adreel_env, merchant, tmp_path, products={"ids": SAMPLE_IDS[:1]})
    bad = run_adreel("campaign", "schedule", campaign, "--cron", "0 6 * *", "--tz", "UTC")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "adreel: '0 6 * *' is not a cron expression (e.g. '0 6 * * 1')"
    scheduled = run_adreel(
        "campaign", "schedule", campaign, "--cron", "0 6 * * 1", "--tz", "Asia/Shanghai"
    )
    assert scheduled.returncode == 0, scheduled.stderr
    listed = {
        c["campaign_id"]: c for c in cli_json("campaign", "list", env=adreel_env)["campaigns"]
    }
    assert listed[campaign]["schedule"] == "0 6 * * 1 (Asia/Shanghai)"
    next_run = datetime.fromisoformat(listed[campaign]["next_run"])
    assert (next_run.weekday(), next_run.hour, next_run.utcoffset()) == (0, 6, timedelta(hours=8))
    served = run_adreel("serve", "--list", env=adreel_env, timeout=120)
    assert served.returncode == 0, served.stderr
    assert f"run_campaign/campaign-{campaign}: 0 6 * * 1 (Asia/Shanghai)" in served.stderr
    assert "ingest-catalog/ingest-catalog: on demand" in served.stderr
