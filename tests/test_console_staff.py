"""The account manager and finance pages of the console in headless Chromium: the account
manager creates a campaign in the editor and runs it, watching its progress and money;
finance imports files, closes a month after confirming, opens the statement, downloads
its CSV and reconciles a settlement file. Bad input changes nothing. Every page is
screenshotted under out/screenshots/ and passes the axe-core check."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from billing import service as billing
from billing.charges import charge_accepted_material
from campaigns import service as campaigns
from storage.services import services
from tests.helpers.cli import cli_ok
from tests.helpers.console import assert_accessible, require_chromium, shot, sign_in
from tests.helpers.console_staff import (  # noqa: F401  (fixtures)
    chromium,
    csrf_of,
    signed_in_client,
    staff_api,
)
from tests.helpers.finance import (
    INTERACTION_COLUMNS,
    ORDER_COLUMNS,
    gmv_contract,
    new_gmv_merchant,
    write_csv,
)


@pytest.fixture(autouse=True, scope="module")
def _chromium():
    require_chromium()


PERIOD = "2026-10"


@pytest.fixture
def page(chromium, staff_api):  # noqa: F811
    context = chromium.new_context(
        base_url=staff_api["base"], viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    yield context.new_page()
    context.close()


def look(page, name: str) -> None:
    """Screenshot the page and run the accessibility check on it."""
    shot(page, name)
    assert_accessible(page)


def saved_campaigns(merchant: str) -> dict[str, dict]:
    return {c["campaign_id"]: c for c in campaigns.list_campaigns(services().db, merchant)}


def test_account_manager_creates_and_runs_a_campaign(page, staff_api, tmp_path):  # noqa: F811
    merchant = staff_api["merchant"]
    sign_in(page, staff_api["keys"]["account_manager"])
    page.wait_for_url("**/campaigns")
    look(page, "staff-01-campaigns")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Merchants").click()
    page.wait_for_url("**/merchants")
    page.get_by_label("Merchant id contains").fill(merchant)
    page.get_by_role("button", name="Find").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=merchant, exact=True))
    row.wait_for()
    assert row.get_by_role("cell").nth(1).inner_text() == "100,000"  # the pack bought
    assert row.get_by_role("cell").nth(4).inner_text() == "0"  # no campaigns yet
    look(page, "staff-02-merchants")

    row.get_by_role("link", name=merchant, exact=True).click()
    page.wait_for_url(f"**/merchants/{merchant}")
    assert page.get_by_role("heading", name="Token wallet").is_visible()
    for name, path in (
        ("Catalog", "catalog"),
        ("Products", "products"),
        ("Brand kit", "brand"),
        ("Wallet and usage", "wallet"),
    ):  # the merchant's own pages, which staff reach too
        link = page.get_by_role("main").get_by_role("link", name=name, exact=True)
        assert link.get_attribute("href") == f"/m/{merchant}/{path}"
    look(page, "staff-03-merchant")

    # the editor: an invalid field is refused next to the field, the rest kept
    page.get_by_role("link", name="New campaign").first.click()
    page.wait_for_url("**/campaigns/new")
    campaign = f"spring-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Campaign id").fill(campaign)
    page.get_by_label("Search the catalog").fill("sku-1001")
    assert page.locator("#product-list li:not([hidden])").count() == 1
    page.get_by_role("checkbox", name=re.compile("SKU-1001")).check()
    page.get_by_label("Variants per product").fill("11")
    page.get_by_label("Languages").fill("en_US, xx_NOPE")
    look(page, "staff-04-editor")
    page.get_by_role("button", name="Save campaign").click()
    alert = page.get_by_role("alert")
    assert "2 fields to correct; nothing was saved" in alert.inner_text()
    assert "less than or equal to 10" in page.locator("#variants-error").inner_text()
    assert "unknown language 'xx_NOPE'" in page.locator("#languages-error").inner_text()
    assert page.get_by_label("Variants per product").get_attribute("aria-invalid") == "true"
    assert page.get_by_role("checkbox", name=re.compile("SKU-1001")).is_checked()
    assert campaign not in saved_campaigns(merchant)
    look(page, "staff-05-editor-errors")

    page.get_by_label("Variants per product").fill("2")
    page.get_by_label("Languages").fill("en_US")
    page.get_by_role("button", name="Save campaign").click()
    page.wait_for_url(f"**/merchants/{merchant}/campaigns/{campaign}?notice=created")
    assert campaign in saved_campaigns(merchant)

    # run now: the page follows the run without reloading, then shows what it cost
    page.get_by_role("button", name="Run now").click()
    page.wait_for_url("**notice=run-started")
    url = page.url
    status = page.locator("#run-status .badge")
    page.wait_for_function(
        "document.querySelector('#run-status .badge')?.textContent === 'awaiting approval'",
        timeout=180_000,
    )
    assert page.url == url  # polled, not reloaded
    assert page.locator("#previews-text").inner_text() == "2 of 2"
    assert page.locator("#awaiting-text").inner_text() == "2"
    run = campaigns.campaign_status(services().db, campaign, merchant)["runs"][0]
    assert run["status"] == "awaiting_approval" and run["money"]["tokens"] > 0
    cells = page.locator("#runs tbody tr").first.get_by_role("cell")
    assert cells.nth(1).inner_text() == "awaiting approval"
    assert cells.nth(4).inner_text() == f"{run['money']['tokens']:,}"
    value = run["money"]["token_value"]["USD"]
    assert cells.nth(5).inner_text() == f"{value} USD"
    assert status.inner_text() == "awaiting approval"
    assert page.locator("#spent-text").inner_text() == f"{run['money']['tokens']:,}"
    look(page, "staff-06-campaign-run")

    # export the YAML, change it, import it into the editor and save: replaced
    with page.expect_download() as download:
        page.get_by_role("link", name="Export YAML").click()
    exported = yaml.safe_load(Path(download.value.path()).read_text())
    assert exported["campaign"] == campaign and exported["variants"] == 2
    assert exported["products"] == {"ids": ["SKU-1001"]}
    changed = tmp_path / f"{campaign}.yaml"
    changed.write_text(yaml.safe_dump({**exported, "variants": 3}))
    page.get_by_role("link", name="Edit campaign").click()
    page.get_by_label("Import a campaign file").set_input_files(str(changed))
    page.get_by_role("button", name="Import", exact=True).click()
    assert f"Filled from {changed.name}" in page.get_by_role("status").inner_text()
    assert page.get_by_label("Variants per product").input_value() == "3"
    assert page.get_by_role("heading", name=f"Edit {campaign}").is_visible()
    look(page, "staff-07-editor-imported")
    page.get_by_role("button", name="Save campaign").click()
    page.wait_for_url("**notice=saved")
    with services().db.connection() as conn:
        assert campaigns.campaign_of(conn, campaign, merchant)["spec"]["variants"] == 3

    # schedule: a bad cron is refused on the page, a good one saved
    page.get_by_label("Cron").fill("every monday")
    page.get_by_role("button", name="Save schedule").click()
    assert "is not a cron expression" in page.get_by_role("alert").inner_text()
    assert saved_campaigns(merchant)[campaign]["schedule"] == "on demand"
    page.get_by_label("Cron").fill("0 6 * * 1")
    page.get_by_role("button", name="Save schedule").click()
    page.wait_for_url("**notice=scheduled")
    assert saved_campaigns(merchant)[campaign]["schedule"] == "0 6 * * 1 (UTC)"
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    listed = page.get_by_role("row").filter(has=page.get_by_role("link", name=campaign))
    assert "0 6 * * 1 (UTC)" in listed.inner_text() and "awaiting approval" in listed.inner_text()
    look(page, "staff-09-campaigns-listed")

    # token packs: a purchase key credits the wallet once
    page.goto(f"/merchants/{merchant}")
    balance = billing.wallet(services().db, merchant)["balance"]
    for notice in ("The pack was added", "recorded before; nothing changed"):
        page.get_by_label("Pack", exact=True).select_option("big")
        page.get_by_label("Purchase key").fill(f"inv-{campaign}")
        page.get_by_role("button", name="Add pack to wallet").click()
        assert notice in page.get_by_role("status").inner_text()
    assert billing.wallet(services().db, merchant)["balance"] == balance + 100_000
    # a contract that does not validate: the message, and no new version
    before = billing.contract_in_force(services().db, merchant, date.today())[0]
    terms = page.get_by_label(re.compile("^Terms"))
    shown = yaml.safe_load(terms.input_value())
    assert shown["tokens"]["packs"][0] == {"name": "big", "tokens": 100000, "price": "100.00"}
    terms.fill("effective_from: 2026-02-01\ncurrency: usd\n")
    page.get_by_role("button", name="Save as next version").click()
    assert "currency" in page.get_by_role("alert").inner_text()
    assert billing.contract_in_force(services().db, merchant, date.today())[0] == before
    look(page, "staff-08-merchant-contract-error")
    terms.fill(yaml.safe_dump({**shown, "effective_from": "2026-02-01"}))
    page.get_by_role("button", name="Save as next version").click()
    assert "saved as the next version" in page.get_by_role("status").inner_text()
    version, contract = billing.contract_in_force(services().db, merchant, date.today())
    assert version == before + 1 and str(contract.effective_from) == "2026-02-01"


@pytest.fixture
def finance_merchant(db, staff_api, tmp_path):  # noqa: F811
    """A merchant with a graduated GMV-share contract, three ads of a template whose
    contributor earns a share, and the month's interactions, orders and refunds files."""
    template = f"tpl-{uuid.uuid4().hex[:6]}"
    contract = gmv_contract(schedule="graduated", tiers=(("0", "0.15"), ("100", "0.25")))
    with db.connection() as conn:
        m, (a1, a2, _) = new_gmv_merchant(conn, contract, template=template)
        charge_accepted_material(conn, m, a2, "9x16", 15, date(2026, 10, 2))
        conn.commit()
    contributor = f"studio-{uuid.uuid4().hex[:6]}"
    cli_ok(
        "finance", "contributor", "--template", template, "--contributor", contributor,
        "--share", "0.10", env=staff_api["env"],
    )  # fmt: skip
    files = {
        "interactions": write_csv(
            tmp_path / "interactions.csv",
            INTERACTION_COLUMNS,
            [
                f"{m}-e1,{m},{a1},click,ann@example.com,2026-10-05T10:00:00+02:00,CK-{m}",
                f"{m}-e2,{m},{a2},view,bob,2026-10-06T10:00:00+00:00,",
            ],
        ),
        "orders": write_csv(
            tmp_path / "orders.csv",
            ORDER_COLUMNS,
            [
                f"{m}-1,1,{m},2026-10-05T12:00:00+02:00,ann@example.com,P1,2,30.00,,USD,",
                f"{m}-2,1,{m},2026-10-06T18:00:00+00:00,bob,P1,1,80.00,10.00,USD,",
                f"{m}-3,1,{m},2026-10-07T18:00:00+00:00,nobody,P1,1,80.00,,USD,",
            ],
        ),
        "refunds": write_csv(
            tmp_path / "refunds.csv",
            "refund_id,order_id,line_id,refunded_at,quantity",
            [f"{m}-r1,{m}-1,1,2026-10-09T00:00:00+00:00,1"],
        ),
        "bad_orders": write_csv(
            tmp_path / "more-orders.csv",
            ORDER_COLUMNS,
            [
                f"{m}-4,1,{m},2026-10-08T18:00:00+00:00,bob,P1,1,50.00,,USD,",
                f"{m}-5,1,{m},2026-10-08T19:00:00+00:00,bob,P1,1,lots,,USD,",
            ],
        ),
    }
    return {"merchant": m, "contributor": contributor, "files": files}


def totals(merchant: str) -> dict:
    built, _ = billing.statement(services().db, merchant, PERIOD, date.today(), Path("/tmp"))
    return {c: dict(k) for c, k in built.totals.items()}


def test_finance_imports_closes_reconciles_and_pays(page, staff_api, finance_merchant, tmp_path):  # noqa: F811
    m, files = finance_merchant["merchant"], finance_merchant["files"]
    sign_in(page, staff_api["keys"]["finance"])
    page.wait_for_url("**/statements")
    look(page, "finance-01-statements")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Imports").click()
    page.wait_for_url("**/finance/imports")
    look(page, "finance-02-imports")
    for kind, label in [
        ("interactions", "Interactions"),
        ("orders", "Orders"),
        ("refunds", "Refunds"),
    ]:
        page.get_by_label("What the file holds").select_option(kind)
        page.get_by_label(re.compile("^File")).set_input_files(str(files[kind]))
        page.get_by_role("button", name="Import", exact=True).click()
        rows = 1 if kind == "refunds" else (2 if kind == "interactions" else 3)
        done = page.get_by_role("status").filter(has_text=f"{rows} row(s), {rows} new")
        done.wait_for(timeout=90_000)
        assert f"Imported {files[kind].name}" in done.inner_text(), label
    look(page, "finance-03-imported")

    # a file with one bad row: that row named, nothing of the file stored
    before = totals(m)
    page.get_by_label("What the file holds").select_option("orders")
    page.get_by_label(re.compile("^File")).set_input_files(str(files["bad_orders"]))
    page.get_by_role("button", name="Import", exact=True).click()
    alert = page.get_by_role("alert").inner_text()
    assert "more-orders.csv" in alert and "unit_price" in alert and "Nothing of this file" in alert
    assert totals(m) == before
    look(page, "finance-04-import-refused")

    # the month per merchant
    page.goto(f"/finance?period={PERIOD}&q={m}")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=m))
    assert row.get_by_role("cell").nth(1).inner_text() == "130.00"  # 60.00 + 70.00 attributed
    look(page, "finance-05-month")
    row.get_by_role("link", name=m).click()
    page.wait_for_url(f"**/finance/m/{m}/{PERIOD}")
    assert page.get_by_role("heading", name=f"{m} · October 2026").is_visible()
    charts = page.locator("svg.chart")
    assert charts.count() == 2
    assert "05 Oct" in charts.nth(0).inner_html() and "Net GMV" in charts.nth(0).inner_html()
    assert "Product (P1)" in charts.nth(1).inner_html()
    unattributed = page.get_by_role("row").filter(has_text=f"{m}-3")
    assert "no interaction" in unattributed.inner_text()
    look(page, "finance-06-merchant-month")

    # close the month: a confirmation first, nothing closed until confirmed
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Close month").click()
    page.get_by_label("Month", exact=True).fill(PERIOD)
    page.get_by_label(re.compile("^Merchant")).fill(m)
    page.get_by_role("button", name="Close month…").click()
    assert page.get_by_role("heading", name=f"Close October 2026 for {m}?").is_visible()
    look(page, "finance-07-close-confirm")
    assert "tier_true_up" not in totals(m)["USD"]
    page.get_by_role("button", name=f"Yes, close {PERIOD}").click()
    assert "closed 1 merchant(s) now" in page.get_by_role("status").inner_text()
    assert totals(m)["USD"]["tier_true_up"] == Decimal("3.00")
    look(page, "finance-08-closed")

    # the statement: CSV download and the print view
    page.goto(f"/finance/m/{m}/{PERIOD}")
    assert "Tier true-up" in page.get_by_role("table").first.inner_text()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {r["kind"]: r["amount"] for r in rows}["total"] == "28.00"
    with page.context.expect_page() as printed:
        page.get_by_role("link", name="Print view").click()
    printed.value.wait_for_load_state()
    assert "Statement October 2026" in printed.value.title()
    shot(printed.value, "finance-09-statement-print")
    printed.value.close()

    # reconcile a settlement file that differs by 0.02 on one line
    settlement = tmp_path / "settlement.csv"
    settlement.write_text(
        f"order_id,line_id,amount,currency\n{m}-1,1,30.02,USD\n{m}-2,,70.00,USD\n"
    )
    page.get_by_role("link", name="Reconcile…").click()
    page.get_by_label(re.compile("^Settlement file")).set_input_files(str(settlement))
    page.get_by_role("button", name="Reconcile").click()
    assert "do not match" in page.get_by_role("status").inner_text()
    line = page.locator("#lines tbody tr.differs").filter(has_text=f"{m}-1")
    assert line.get_by_role("cell").nth(5).inner_text() == "-0.02 USD"
    look(page, "finance-10-reconciled")

    # pay the template's contributor, once
    contributor = finance_merchant["contributor"]
    page.goto(f"/finance/payouts?period={PERIOD}")
    owed = page.get_by_role("row").filter(has_text=contributor)
    owed.get_by_label(f"Payment reference for {contributor}").fill("WIRE-1")
    owed.get_by_role("button", name=re.compile("^Pay ")).click()
    assert f"to {contributor}" in page.get_by_role("status").inner_text()
    paid = billing.payouts(services().db, PERIOD)
    mine = [c for c in paid.contributors if c["contributor"] == contributor]
    assert mine and mine[0]["owed"] == 0 and mine[0]["references"] == ["WIRE-1"]
    look(page, "finance-11-payouts")


def test_bad_input_changes_nothing(staff_api, tmp_path):  # noqa: F811
    merchant, other, keys = staff_api["merchant"], staff_api["other"], staff_api["keys"]
    with signed_in_client(staff_api["base"], keys["account_manager"]) as manager:
        editor = manager.get(f"/merchants/{merchant}/campaigns/new")
        token = csrf_of(editor.text)
        form = {
            "campaign": f"forged-{uuid.uuid4().hex[:6]}",
            "product_ids": "SKU-1001",
            "templates": "showcase",
            "formats": "9x16",
            "platforms": "tiktok",
            "languages": "en_US",
            "variants": "1",
        }
        url = f"/merchants/{merchant}/campaigns/save"
        forged = manager.post(url, data=form)
        assert forged.status_code == 403 and "did not come from this console" in forged.text
        assert form["campaign"] not in saved_campaigns(merchant)

        bad = manager.post(url, data={**form, "formats": "4x3", "csrf_token": token})
        assert bad.status_code == 422 and "unknown format &#39;4x3&#39;" in bad.text
        assert form["campaign"] not in saved_campaigns(merchant)

        saved = manager.post(url, data={**form, "csrf_token": token})
        assert saved.status_code == 303
        campaign = form["campaign"]
        # another merchant's campaign through this merchant's URL: not found, nothing runs
        elsewhere = manager.get(f"/merchants/{other}/campaigns/{campaign}")
        assert elsewhere.status_code == 404 and "Not found" in elsewhere.text
        run = manager.post(
            f"/merchants/{other}/campaigns/{campaign}/run", data={"csrf_token": token}
        )
        assert run.status_code == 404
        assert manager.post(f"/merchants/{merchant}/campaigns/{campaign}/run").status_code == 403
        assert campaigns.campaign_status(services().db, campaign, merchant)["runs"] == []
        assert manager.get("/merchants/no-such-merchant").status_code == 404
        assert manager.get("/finance").status_code == 403  # not finance's pages

    with signed_in_client(staff_api["base"], keys["merchant"]) as shopper:
        assert shopper.get("/merchants").status_code == 403
        assert shopper.get(f"/merchants/{merchant}").status_code == 403
        assert shopper.get(f"/finance/m/{merchant}/{PERIOD}").status_code == 403

    with signed_in_client(staff_api["base"], keys["finance"]) as money:
        page = money.get("/finance/close")
        closing = {"period": PERIOD, "merchant_id": other, "confirmed": "yes"}
        assert money.post("/finance/close", data=closing).status_code == 403
        assert "tier_true_up" not in str(totals(other))
        refused = money.post(
            "/finance/close",
            data={**closing, "period": "2026-13", "csrf_token": csrf_of(page.text)},
        )
        assert refused.status_code == 422 and "must look like YYYY-MM" in refused.text
        assert money.get("/merchants").status_code == 403


def test_staff_upload_forms_take_files_over_a_megabyte(staff_api):  # noqa: F811
    """Other console forms stop at 1 MB; those that send files take what the API's
    uploads take (ADREEL_API_MAX_UPLOAD_MB), and each page it links to opens for staff."""
    merchant, keys = staff_api["merchant"], staff_api["keys"]
    padding = "#" + "x" * 1_500_000 + "\n"  # 1.5 MB: a comment to YAML
    with signed_in_client(staff_api["base"], keys["account_manager"]) as manager:
        token = csrf_of(manager.get(f"/merchants/{merchant}").text)
        for path in ("catalog", "products", "brand", "wallet"):
            assert manager.get(f"/m/{merchant}/{path}").status_code == 200, path
        spec = yaml.safe_dump({"campaign": "big-file", "products": {"ids": ["SKU-1001"]}})
        imported = manager.post(
            f"/merchants/{merchant}/campaigns/import",
            files={"file": ("big.yaml", padding + spec)},
            data={"csrf_token": token},
        )
        assert imported.status_code == 200, imported.text[:300]
        assert 'value="big-file"' in imported.text
        assert "big-file" not in saved_campaigns(merchant)  # the editor is filled, not saved
        too_big = manager.post(
            f"/merchants/{merchant}/contract",
            data={"terms": padding, "csrf_token": token},
        )
        assert too_big.status_code == 413  # a plain form keeps the 1 MB limit

    with signed_in_client(staff_api["base"], keys["finance"]) as money:
        token = csrf_of(money.get("/finance/imports").text)
        refused = money.post(
            "/finance/imports",
            files={"file": ("interactions.csv", "not,a,finance,file\n" + padding)},
            data={"kind": "interactions", "csrf_token": token},
        )
        # read and refused for what it holds, not for its size
        assert refused.status_code == 400 and "not a readable CSV file" in refused.text
        assert "Nothing of this file was stored." in refused.text
