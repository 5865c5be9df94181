"""The web console in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright), as a merchant uses it: sign in, upload a catalog from the upload page (a
PNG first, by mistake), read the validation report, see the products with thumbnails,
wait for previews, watch them play, approve two, reject one with a reason, download a
final, try the brand kit and read the wallet. Every page passes axe-core's check and is
screenshotted under out/screenshots/ (merchant-*.png). CSRF, tenancy and sign-in
redirects are checked over plain HTTP."""

from __future__ import annotations

import html
import re
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from api.console.session import COOKIE, SALT
from campaigns import service as campaigns
from catalog.products import catalog_products, upload_status
from catalog.sample import draw_product_image
from composer.kits import brand_kit
from storage.errors import NotFound
from storage.services import services
from tests.helpers.campaigns import CONTRACT, PREVIEW_TOKENS, create_campaign
from tests.helpers.cli import cli_json, cli_ok
from tests.helpers.console import CHROMIUM, assert_accessible, require_chromium, shot, sign_in
from tests.test_api import MAX_UPLOAD_MB, api, uploaded  # noqa: F401  (the running `adreel api`)


@pytest.fixture(autouse=True, scope="module")
def _chromium():
    require_chromium()


HEADER = "id,title,description,link,image_link,price,availability,condition,brand\n"


def catalog_csv(folder: Path) -> Path:
    """Three good products with images, and two rows the checks refuse."""
    rows = []
    for product_id, title, shape, colour, price in (
        ("TS-1", "Cotton Tee", "mug", "#d04a2f", "19.99 USD"),
        ("TS-4", "Trail Boot", "boot", "#5a6b3a", "89.00 USD"),
        ("TS-5", "Beeswax Candle", "candle", "#e8c15a", "12.50 USD"),
    ):
        image = folder / f"{product_id}.png"
        draw_product_image(shape, colour).save(image)
        rows.append(
            f"{product_id},{title},A good {title.lower()},https://shop.example.com/{product_id},"
            f"{image.as_uri()},{price},in stock,new,Saltline\n"
        )
    rows.append("TS-6,No Price,Missing its price,https://shop.example.com/ts-6,,,in stock,new,S\n")
    rows.append("TS-7,Bad Link,Link is not a URL,not a link,,5.00 USD,in stock,new,Saltline\n")
    path = folder / "spring-catalog.csv"
    path.write_text(HEADER + "".join(rows))
    return path


@pytest.fixture(scope="module")
def merchant(api, tmp_path_factory):  # noqa: F811
    """A merchant with a contract and tokens but no catalog yet, and its key."""
    env = api["env"]
    merchant_id = f"web-{uuid.uuid4().hex[:8]}"
    folder = tmp_path_factory.mktemp("console")
    key = cli_json("keys", "create", "--role", "merchant", "--merchant", merchant_id, env=env)
    contract = folder / "contract.yaml"
    contract.write_text(CONTRACT.format(modes="[tokens, raas]", three=3 * PREVIEW_TOKENS))
    cli_ok("contract", "create", "--merchant", merchant_id, "--file", str(contract), env=env)
    cli_ok("wallet", "buy", "--merchant", merchant_id, "--pack", "big", "--key", "w1", env=env)
    return {"id": merchant_id, "key": key["key"], "folder": folder}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, api):  # noqa: F811
    context = browser.new_context(
        base_url=api["base"], viewport={"width": 1280, "height": 900}, accept_downloads=True
    )
    yield context.new_page()
    context.close()


def look(page, name: str) -> None:
    """Every page a person sees: accessible, and screenshotted."""
    assert_accessible(page)
    shot(page, f"merchant-{name}")


def decisions(merchant_id: str, campaign: str) -> dict[int, tuple[str, str | None]]:
    status = campaigns.campaign_status(services().db, campaign, merchant_id)
    return {m["preview_asset_id"]: (m["decision"], m["reason"]) for m in status["materials"]}


def in_background(*args: str, env: dict) -> threading.Thread:
    """A CLI command (a campaign run) while the browser waits for what it makes."""
    failures: list[BaseException] = []

    def run():
        try:
            cli_json(*args, env=env)
        except BaseException as exc:  # told by the test, not lost in the thread
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.failures = failures  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_merchant_walkthrough(page, api, merchant):  # noqa: F811
    merchant_id, env = merchant["id"], {**api["env"], "ADREEL_MODEL": "builtin:motion"}
    home = f"/m/{merchant_id}"

    # 1. Signed out, a merchant's page asks for the key first; a wrong key is told.
    page.goto(home)
    assert page.url.endswith(f"/sign-in?next={home}")
    page.get_by_label("API key").fill("adr_wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That API key is wrong")
    look(page, "01-sign-in")
    page.get_by_label("API key").fill(merchant["key"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{home}")
    assert page.get_by_role("heading", name="Token wallet").is_visible()
    look(page, "02-home-empty")

    # 2. A PNG picked by mistake: told on the page, nothing changes.
    page.get_by_role("link", name="Catalog", exact=True).click()
    page.wait_for_url(f"**{home}/catalog")
    look(page, "03-catalog-upload")
    logo = merchant["folder"] / "logo.png"
    draw_product_image("mug", "#2f5bd3").save(logo)
    page.get_by_label("Catalog file").set_input_files(str(logo))
    page.get_by_role("button", name="Upload and check").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "logo.png is not a catalog file (it looks like a PNG image)" in alert.inner_text()
    assert "nothing was changed" in alert.inner_text()
    look(page, "04-catalog-not-a-catalog")
    assert page.get_by_text("No catalog yet").is_visible()
    # Over the server's upload limit (1 MB in these tests): told, nothing changes.
    big = merchant["folder"] / "huge.csv"
    big.write_text(HEADER + "x" * (MAX_UPLOAD_MB * 1024 * 1024 + 1))
    page.get_by_label("Catalog file").set_input_files(str(big))
    page.get_by_role("button", name="Upload and check").click()
    told = page.locator("#upload-progress [aria-live]")
    page.wait_for_function(
        "document.querySelector('#upload-progress [aria-live]').textContent"
        ".includes('nothing was changed')"
    )
    assert "larger than this server accepts" in told.inner_text()
    with pytest.raises(NotFound):
        upload_status(services().db, merchant_id, 1)
    page.reload()

    # 3. The real catalog, with a progress bar, then the validation report.
    page.get_by_label("Catalog file").set_input_files(str(catalog_csv(merchant["folder"])))
    page.get_by_role("button", name="Upload and check").click()
    assert page.locator("progress").is_visible()  # shown as soon as the bytes go up
    page.wait_for_url(lambda url: url.endswith("/catalog/uploads/1?notice=uploaded"), timeout=60000)
    assert "3 products accepted, 2 rejected" in page.get_by_role("status").inner_text()
    assert page.get_by_role("table").filter(has_text="required_price").is_visible()
    assert page.get_by_role("cell", name="TS-7").is_visible()  # link_url's row, by id
    look(page, "05-catalog-report")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    rejected = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
    assert download.value.suggested_filename == f"catalog-{merchant_id}-v1-rejected.csv"
    assert [line.split(",")[0] for line in rejected] == ["row", "5", "6"]  # the header is row 1

    # 4. Products with their thumbnails (the stored images, through a tenant-checked route).
    page.get_by_role("link", name="See the products").click()
    page.wait_for_url("**/products")
    thumbnail = page.get_by_role("img", name="Trail Boot")
    thumbnail.wait_for()
    page.wait_for_function(
        "[...document.querySelectorAll('img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("img.thumb").count() == 3
    look(page, "06-products")
    page.get_by_label("Search").fill("boot")
    page.get_by_role("button", name="Filter").click()
    assert page.get_by_role("row").count() == 2  # the header and Trail Boot
    assert page.get_by_role("cell", name="TS-4").is_visible()

    # 5. The account manager's campaign runs; the home page shows its previews when ready.
    campaign = create_campaign(
        env, merchant_id, merchant["folder"], products={"ids": ["TS-1"]}, variants=3
    )
    run = in_background("campaign", "run", campaign, env=env)
    page.get_by_role("link", name="Home").click()
    review = page.get_by_role("link", name=f"Review 3 in {campaign}")
    deadline = time.monotonic() + 300
    while not review.is_visible():
        assert time.monotonic() < deadline, "no previews after 5 minutes"
        assert not run.failures, run.failures
        page.wait_for_timeout(2000)
        page.reload()
    run.join(timeout=120)
    assert not run.failures, run.failures
    look(page, "07-home-previews-ready")

    # 6. The review board: previews play inline, muted and looping, and their time advances.
    review.click()
    page.wait_for_url(lambda url: url.endswith(f"/campaigns/{campaign}?decision=pending"))
    videos = page.locator("video")
    assert videos.count() == 3
    page.wait_for_function(
        "[...document.querySelectorAll('video')].every(v => v.readyState >= 2)", timeout=30000
    )
    assert page.evaluate("[...document.querySelectorAll('video')].every(v => v.muted && v.loop)")
    started = page.evaluate("document.querySelector('video').currentTime")
    page.wait_for_function(
        f"document.querySelector('video').currentTime > {started} + 0.3", timeout=15000
    )
    look(page, "08-review-board")

    # 7. Approve two at once, reject one with a reason.
    cards = page.get_by_role("listitem").filter(has=page.locator("video"))
    ids = [
        int(cards.nth(i).locator("video").get_attribute("src").rsplit("/", 1)[1]) for i in range(3)
    ]
    for i in (0, 1):
        cards.nth(i).get_by_role("checkbox").check()
    page.get_by_role("button", name="Approve selected").click()
    assert "Approved 2 preview" in page.get_by_role("status").inner_text()
    last = page.get_by_role("listitem").filter(has=page.locator(f"video[src$='/{ids[2]}']"))
    last.get_by_text("Reject…").click()
    last.get_by_label("Reason for rejecting").fill("logo too small")
    last.get_by_role("button", name="Reject").click()
    assert "Rejected 1 preview" in page.get_by_role("status").inner_text()
    decided = decisions(merchant_id, campaign)
    assert decided == {
        ids[0]: ("approved", None),
        ids[1]: ("approved", None),
        ids[2]: ("rejected", "logo too small"),
    }
    page.get_by_label("Decision").select_option("")
    page.wait_for_url(lambda url: "decision=&" in url or url.endswith("decision="))
    look(page, "09-review-decided")

    # 8. The next run renders the approved finals; download one.
    cli_json("campaign", "run", campaign, env=env)
    page.reload()
    finals = page.get_by_role("link", name="Download final")
    assert finals.count() == 2
    with page.expect_download() as download:
        finals.first.click()
    saved = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.endswith(".mp4")
    assert saved[4:8] == b"ftyp" and len(saved) > 10_000  # an MP4, not an error page
    look(page, "10-finals")

    # 9. The brand kit: the end card follows the fields before anything is saved.
    page.get_by_role("link", name="Brand kit").click()
    page.wait_for_url("**/brand")
    card = page.get_by_role("figure", name="End card preview")
    page.get_by_label("Brand name").fill("Saltline Goods")
    page.get_by_label("Primary colour").fill("#0b3d2e")
    page.get_by_label("Call to action").fill('{"en": "Get yours"}')
    assert card.get_by_text("Saltline Goods").is_visible()
    assert card.get_by_text("Get yours").is_visible()
    assert card.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 61, 46)"
    # light text on the dark green, as the composer would draw it
    name_colour = card.get_by_text("Saltline Goods").evaluate("e => getComputedStyle(e).color")
    assert name_colour == "rgb(250, 250, 250)"
    assert page.get_by_role("button", name="Save brand kit").count() == 0  # managers save
    look(page, "11-brand-kit")

    # 10. The wallet over time: charts with a title for screen readers, and the days.
    page.get_by_role("link", name="Wallet").click()
    page.wait_for_url("**/wallet")
    balance = page.get_by_role("img", name="Token balance at the end of each day, last 30 days")
    assert balance.is_visible()
    assert page.get_by_role("img", name="Tokens used by renders per day, last 30 days").is_visible()
    today = datetime.now(UTC).date()
    assert balance.locator("text").filter(has_text=today.strftime("%d %b")).count() == 1
    assert page.locator("svg.chart text").filter(has_text="tokens").count() >= 1
    assert page.get_by_role("cell", name="100,000").is_visible()  # the big pack, bought
    look(page, "12-wallet")

    # 11. Another merchant's pages and files read as missing.
    other = api["merchants"][0]
    page.goto(f"/m/{other}/campaigns/{campaign}")
    assert page.get_by_role("heading", name="Not found").is_visible()
    look(page, "13-other-merchant-404")
    for url in (f"/m/{other}/products/TS-1/image", f"/m/{other}/catalog/uploads/1/rejected.csv"):
        assert page.request.get(url, max_redirects=0).status == 404

    # 12. Sign out: the pages ask for the key again.
    page.goto(home)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: url.endswith("/sign-in?notice=signed-out"))
    page.goto(home)
    assert "/sign-in" in page.url


def test_account_manager_saves_a_brand_kit(page, api, merchant):  # noqa: F811
    """Saving goes through composer's set_brand_kit, as `adreel brand set` does; the logo
    uploaded here is then drawn on the preview from the store."""
    logo = merchant["folder"] / "brand-logo.png"
    draw_product_image("tube", "#0b3d2e").save(logo)
    sign_in(page, api["keys"]["account_manager"])
    page.wait_for_url(lambda url: "/sign-in" not in url)
    page.goto(f"/m/{merchant['id']}/brand")
    page.get_by_label("Brand name").fill("Saltline Goods")
    page.get_by_label("Primary colour").fill("#0b3d2e")
    page.get_by_label("Secondary colour").fill("#f2c14e")
    page.get_by_label("Call to action").fill('{"en": "Get yours", "de": "Hol es dir"}')
    page.get_by_label("Logo (PNG or JPEG)").set_input_files(str(logo))
    page.get_by_role("button", name="Save brand kit").click()
    assert "Brand kit saved" in page.get_by_role("status").inner_text()
    kit = brand_kit(services().db, merchant["id"])
    assert (kit["name"], kit["primary_colour"], kit["secondary_colour"]) == (
        "Saltline Goods",
        "#0b3d2e",
        "#f2c14e",
    )
    assert kit["call_to_action"] == {"en": "Get yours", "de": "Hol es dir"} and kit["logo_key"]
    page.wait_for_function("document.querySelector('#endcard .logo img').naturalWidth > 0")
    look(page, "14-brand-kit-saved")

    page.get_by_label("Primary colour").fill("#0b3d2e")
    page.get_by_role("button", name="Save brand kit").click()  # the same kit, logo kept
    assert "nothing changed" in page.get_by_role("status").inner_text()
    assert brand_kit(services().db, merchant["id"])["logo_key"] == kit["logo_key"]


def test_forms_need_their_csrf_token_and_pages_their_session(api):  # noqa: F811
    merchant = api["merchants"][0]
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

        before = catalog_products(services().db, merchant)
        upload = {
            "file": ("c.csv", HEADER + "X-1,X,x,https://x.example/x,,1.00 USD,in stock,new,B\n")
        }
        forged = client.post(f"/m/{merchant}/catalog", files=upload)
        assert forged.status_code == 403
        wrong = client.post(f"/m/{merchant}/catalog", files=upload, data={"csrf_token": token})
        assert wrong.status_code == 403  # the sign-in token was replaced on sign-in
        assert catalog_products(services().db, merchant) == before

        other = client.get(f"/m/{api['merchants'][1]}")
        assert other.status_code == 404
        assert client.get(f"/m/{api['merchants'][1]}/wallet").status_code == 404
        brand = client.post(f"/m/{merchant}/brand", data={"name": "x", "csrf_token": token})
        assert brand.status_code == 403  # a merchant reads its kit; managers set it


def test_an_expired_or_revoked_session_says_so_on_the_sign_in_page(api):  # noqa: F811
    merchant = api["merchants"][0]
    home = Path(api["env"]["ADREEL_HOME"])

    class BackDated(TimestampSigner):  # signs as 13 hours ago (sessions last 12)
        def get_timestamp(self):
            return int(time.time()) - 13 * 3600

    with httpx.Client(base_url=api["base"], follow_redirects=False) as client:
        client.get("/sign-in")  # the console's secret exists once a cookie was written
        secret = api["env"].get("ADREEL_CONSOLE_SECRET") or (home / "console_secret").read_text()
        signing = URLSafeTimedSerializer(secret.strip(), salt=SALT, signer=BackDated)
        old = signing.dumps({"csrf": "t", "key_id": 1})
        client.cookies.set(COOKIE, old)
        expired = client.get(f"/m/{merchant}")
        assert expired.status_code == 303
        assert expired.headers["location"] == f"/sign-in?next=/m/{merchant}&notice=expired"
        page = client.get(expired.headers["location"])
        assert "Your session expired" in page.text

    key = cli_json("keys", "create", "--role", "merchant", "--merchant", merchant, env=api["env"])
    with httpx.Client(base_url=api["base"], follow_redirects=False) as client:
        form = client.get("/sign-in")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/sign-in", data={"api_key": key["key"], "csrf_token": token})
        assert client.get(f"/m/{merchant}").status_code == 200
        cli_ok("keys", "revoke", str(key["id"]), env=api["env"])
        revoked = client.get(f"/m/{merchant}")
        assert revoked.headers["location"].endswith("&notice=revoked")
        assert "was revoked" in client.get(revoked.headers["location"]).text


def test_products_are_read_a_page_at_a_time(page, api):  # noqa: F811
    """1,030 products and two quarantined rows: Next page walks them 24 at a time, each
    once, in id order, the quarantined rows last; a search finds matches past the first
    chunk it reads and pages them the same way."""
    merchant = f"pages-{uuid.uuid4().hex[:8]}"
    key = cli_json("keys", "create", "--role", "merchant", "--merchant", merchant, env=api["env"])
    rows = [f"P{n:04d}\tProduct {n}\t{10 + n % 90}.00 USD" for n in range(1030)]
    feed = "id\ttitle\tprice\n" + "\n".join([*rows, "Q-1\tBad price\tabc", "Q-2\tNo price\t"])
    assert uploaded(api["client"], key["key"], merchant, feed.encode())["status"] == "processed"

    def walk(client, url: str) -> list[list[str]]:
        pages = []
        while url:
            answer = client.get(url)
            assert answer.status_code == 200, answer.text
            pages.append(re.findall(r"<td>(P\d{4}|Q-\d)</td>", answer.text))
            assert f"Page {len(pages)} ·" in answer.text
            following = re.search(r'href="([^"]+)" rel="next"', answer.text)
            url = f"/m/{merchant}/products" + html.unescape(following[1]) if following else ""
        return pages

    with httpx.Client(base_url=api["base"]) as client:
        token = client.get("/sign-in").text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/sign-in", data={"api_key": key["key"], "csrf_token": token})
        pages = walk(client, f"/m/{merchant}/products")
        assert [len(p) for p in pages] == [24] * 43
        seen = [i for p in pages for i in p]
        assert seen == [f"P{n:04d}" for n in range(1030)] + ["Q-1", "Q-2"]

        # "product 10": P0010, P0100-P0109 in the first 500 read, P1000-P1029 after them
        found = walk(client, f"/m/{merchant}/products?q=Product+10&status=live")
        assert [len(p) for p in found] == [24, 17]
        expected = [10, *range(100, 110), *range(1000, 1030)]
        assert [i for p in found for i in p] == [f"P{n:04d}" for n in expected]
        quarantined = walk(client, f"/m/{merchant}/products?status=quarantined")
        assert quarantined == [["Q-1", "Q-2"]]

    # in the browser: the second page, and back to the first
    sign_in(page, key["key"])
    page.goto(f"/m/{merchant}/products")
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**after=P0023**")
    assert page.get_by_role("cell", name="P0024", exact=True).is_visible()
    assert page.get_by_role("navigation", name="Pages").inner_text().startswith("Page 2 · 24")
    look(page, "15-products-page-2")
    page.get_by_role("link", name="First page").click()
    assert page.get_by_role("cell", name="P0000", exact=True).is_visible()


def test_charts_name_their_axes_dates_and_series():
    """Server-drawn SVG: a title and a description for screen readers, round y ticks,
    dates on x, a legend entry per series, and an empty chart that says so."""
    from api.console.charts import bar_chart, line_chart, nice_ticks

    days = [date(2026, 1, 1) + timedelta(n) for n in range(31)]
    svg = str(
        line_chart(
            "Balance",
            {"Balance": [(d, Decimal(1000 + n)) for n, d in enumerate(days)], "Held": []},
            y_label="tokens",
        )
    )
    assert 'role="img"' in svg and ">Balance</title>" in svg
    assert "Balance: 1000 at 01 Jan, 1030 at 31 Jan (31 points)" in svg  # the <desc>
    assert ">01 Jan</text>" in svg and ">31 Jan</text>" in svg and ">tokens</text>" in svg
    assert svg.count("<polyline") == 1 and ">Held</text>" in svg
    assert nice_ticks(0, 1234) == [0, 500, 1000, 1500]
    assert nice_ticks(-3, 7.5) == [-5, 0, 5, 10]

    names = {"Net GMV": [(f"Product with a long name {n}", n) for n in range(8)]}
    bars = str(bar_chart("GMV by product", names))
    assert bars.count('transform="rotate(-35') == 8  # every name shown, slanted
    assert "no data yet" in str(bar_chart("Nothing", {}))

    # dates are placed by time: a label a day after the first would touch it and is left
    # out; the last one is always shown
    close = {"GMV": [(date(2026, 10, d), d) for d in (5, 6, 12, 31)]}
    ticks = str(line_chart("GMV", close))
    assert ">05 Oct</text>" in ticks and ">06 Oct</text>" not in ticks
    assert ">12 Oct</text>" in ticks and ">31 Oct</text>" in ticks
