"""A campaign file listing ids the catalog lacks is refused by name, or saved with
--allow-missing and reported."""

from __future__ import annotations

import uuid

import yaml

from campaigns.runs import plan_previews
from campaigns.service import campaign_status, list_campaigns, save_campaign
from catalog.upload import upload_catalog
from storage.services import services
from tests.helpers.cli import run_adreel
from tests.helpers.ledger import new_merchant


def test_unknown_product_ids_are_named_at_create(adreel_env, tmp_path):
    with services().db.connection() as conn:
        merchant = new_merchant(conn, "cmiss")
    feed = tmp_path / "feed.csv"
    feed.write_text("id,title,price\nP1,Mug,9.00 USD\nP2,Cup,5.00 USD\n")
    upload_catalog(services(), merchant, feed)
    campaign = f"c-{uuid.uuid4().hex[:8]}"
    path = tmp_path / "campaign.yaml"
    path.write_text(
        yaml.safe_dump({"campaign": campaign, "products": {"ids": ["P1", "P-9", "P2", "Q1"]}})
    )

    refused = run_adreel(
        "campaign", "create", "--merchant", merchant, "--file", str(path), env=adreel_env
    )
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "P-9, Q1" in refused.stderr and "--allow-missing" in refused.stderr
    assert str(path) in refused.stderr
    assert list_campaigns(services().db, merchant) == []

    spec, created, missing = save_campaign(services().db, merchant, path, allow_missing=True)
    assert (spec.campaign, created, missing) == (campaign, True, ["P-9", "Q1"])
    assert campaign_status(services().db, campaign)["missing_products"] == ["P-9", "Q1"]
    # every run names them too: planning says which listed ids it could not plan
    planned = plan_previews(services(), campaign)
    assert planned["products"] == 2 and planned["missing_products"] == ["P-9", "Q1"]
