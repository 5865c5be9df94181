"""The web console in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright): sign in with a merchant key, review previews, sign out; CSRF, tenancy and
sign-in redirects. Screenshots of each page go to /tmp/console-shots/."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from campaigns import service as campaigns
from storage.services import services
from tests.helpers.campaigns import create_campaign
from tests.helpers.cli import cli_json, cli_ok
from tests.test_api import api  # noqa: F401  (the running `adreel api` fixture)

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("ADREEL_CONSOLE_SHOTS", "/tmp/console-shots"))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs chromium")


@pytest.fixture(scope="module")
def reviewed(api, tmp_path_factory):  # noqa: F811
    """One merchant's campaign with three previews awaiting review (builtin:motion
    renders them on the CPU in seconds)."""
    merchant = api["merchants"][0]
    env = {**api["env"], "ADREEL_MODEL": "builtin:motion"}
    folder = tmp_path_factory.mktemp("console")
    cli_ok("wallet", "buy", "--merchant", merchant, "--pack", "big", "--key", "console", env=env)
    campaign = create_campaign(env, merchant, folder, products={"ids": ["TS-1"]}, variants=3)
    run = cli_json("campaign", "run", campaign, env=env)
    assert run["status"] == "awaiting_approval", run
    return {"merchant": merchant, "campaign": campaign}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, api):  # noqa: F811
    context = browser.new_context(base_url=api["base"], viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def sign_in(page, key: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def decisions(merchant: str, campaign: str) -> dict[int, tuple[str, str | None]]:
    status = campaigns.campaign_status(services().db, campaign, merchant)
    return {m["preview_asset_id"]: (m["decision"], m["reason"]) for m in status["materials"]}


def test_merchant_reviews_previews_in_the_browser(page, api, reviewed):  # noqa: F811
    merchant, campaign = reviewed["merchant"], reviewed["campaign"]
    page.goto(f"/m/{merchant}")
    assert page.url.endswith(f"/sign-in?next=/m/{merchant}")  # signed out: sign in first
    shot(page, "01-sign-in")
    page.get_by_label("API key").fill("adr_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That API key is wrong")

    page.get_by_label("API key").fill(api["keys"][merchant])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/m/{merchant}")
    assert page.get_by_role("heading", name="Token wallet").is_visible()
    assert page.get_by_role("link", name=f"Review 3 in {campaign}").is_visible()
    shot(page, "02-merchant-home")

    page.get_by_role("link", name=campaign, exact=True).click()
    page.wait_for_url(f"**/campaigns/{campaign}")
    videos = page.locator("video")
    assert videos.count() == 3
    page.wait_for_function("document.querySelector('video').readyState >= 2", timeout=15000)
    assert page.evaluate("[...document.querySelectorAll('video')].every(v => v.muted && v.loop)")
    shot(page, "03-review-board")

    cards = page.get_by_role("listitem").filter(has=page.locator("video"))
    first_id, second_id = (
        int(src.rsplit("/", 1)[1])
        for src in (cards.nth(i).locator("video").get_attribute("src") for i in (0, 1))
    )
    cards.nth(0).get_by_role("button", name="Approve").click()
    assert "Approved 1 preview" in page.get_by_role("status").inner_text()
    cards = page.get_by_role("listitem").filter(has=page.locator("video"))
    second = cards.nth(1)
    second.get_by_text("Reject…").click()
    second.get_by_label("Reason for rejecting").fill("logo too small")
    second.get_by_role("button", name="Reject").click()
    assert "Rejected 1 preview" in page.get_by_role("status").inner_text()
    shot(page, "04-after-decisions")

    decided = decisions(merchant, campaign)
    assert decided[first_id] == ("approved", None)
    assert decided[second_id] == ("rejected", "logo too small")
    assert sorted(d for d, _ in decided.values()) == ["approved", "pending", "rejected"]

    page.get_by_label("Decision").select_option("pending")
    page.wait_for_url("**decision=pending**")
    assert page.locator("video").count() == 1
    shot(page, "05-review-filtered")

    page.get_by_role("link", name="Products").click()
    page.wait_for_url("**/products")
    shot(page, "06-products")
    assert page.get_by_role("cell", name="TS-1", exact=True).is_visible()

    page.goto(f"/m/{api['merchants'][1]}/campaigns/{campaign}")
    assert page.get_by_role("heading", name="Not found").is_visible()
    shot(page, "07-other-merchant-404")

    page.goto(f"/m/{merchant}")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in?notice=signed-out")
    page.goto(f"/m/{merchant}")
    assert "/sign-in" in page.url


def test_staff_pages(page, api, reviewed):  # noqa: F811
    sign_in(page, api["keys"]["account_manager"])
    page.wait_for_url("**/campaigns")
    assert page.get_by_role("link", name=reviewed["campaign"]).is_visible()
    shot(page, "08-account-manager-campaigns")
    page.get_by_role("link", name=reviewed["campaign"]).click()
    assert page.get_by_role("heading", name="Runs").is_visible()
    assert page.get_by_role("cell", name="awaiting approval").first.is_visible()
    shot(page, "09-account-manager-campaign")

    finance = page.context.browser.new_context(base_url=api["base"])
    money = finance.new_page()
    sign_in(money, api["keys"]["finance"])
    money.wait_for_url("**/statements")
    money.get_by_label("Merchant").fill(reviewed["merchant"])
    money.get_by_label("Month").fill("2026-01")
    money.get_by_role("button", name="Show statement").click()
    assert money.get_by_role("heading", name=f"{reviewed['merchant']} · January 2026").is_visible()
    shot(money, "10-finance-statement")
    finance.close()


def test_forms_need_their_csrf_token_and_pages_their_session(api, reviewed):  # noqa: F811
    merchant, campaign = reviewed["merchant"], reviewed["campaign"]
    with httpx.Client(base_url=api["base"], follow_redirects=False) as client:
        unauthenticated = client.get(f"/m/{merchant}")
        assert unauthenticated.status_code == 303
        assert unauthenticated.headers["location"] == f"/sign-in?next=/m/{merchant}"

        form = client.get("/sign-in")
        cookie = form.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        refused = client.post("/sign-in", data={"api_key": api["keys"][merchant]})
        assert refused.status_code == 403 and "did not come from this console" in refused.text
        signed = client.post(
            "/sign-in", data={"api_key": api["keys"][merchant], "csrf_token": token}
        )
        assert signed.status_code == 303 and signed.headers["location"] == f"/m/{merchant}"

        before = decisions(merchant, campaign)
        pending = [asset for asset, (d, _) in before.items() if d == "pending"]
        url = f"/m/{merchant}/campaigns/{campaign}/decisions"
        forged = client.post(url, data={"decision": "approved", "asset_id": pending})
        assert forged.status_code == 403
        wrong = client.post(
            url, data={"decision": "approved", "asset_id": pending, "csrf_token": token}
        )
        assert wrong.status_code == 403  # the sign-in token was replaced on sign-in
        assert decisions(merchant, campaign) == before

        other = client.get(f"/m/{api['merchants'][1]}")
        assert other.status_code == 404
        assert client.get("/campaigns").status_code == 403  # a merchant is not staff
