"""Driving the console in Chromium for the walkthroughs: the browser, signing in,
screenshots under out/screenshots/, and the accessibility check every page passes.

    from tests.helpers.console import CHROMIUM, assert_accessible, shot, sign_in

    sign_in(page, key)
    shot(page, "finance-01-month")      # out/screenshots/finance-01-month.png
    assert_accessible(page)             # axe-core: no serious or critical violation
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Debian's chromium; ADREEL_CHROMIUM names another build (never `playwright install`).
CHROMIUM = os.environ.get("ADREEL_CHROMIUM", "/usr/bin/chromium")


def require_chromium() -> None:
    """A missing browser fails the console tests in one line (never skips them)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"the console tests drive Chromium at {CHROMIUM}, which is missing: "
            "apt-get install chromium, or set ADREEL_CHROMIUM",
            pytrace=False,
        )


SHOTS = Path(
    os.environ.get(
        "ADREEL_CONSOLE_SHOTS", Path(__file__).resolve().parents[2] / "out" / "screenshots"
    )
)
# What a person relying on a screen reader or a keyboard cannot get past; "moderate" and
# "minor" findings are reported in the message but do not fail the check.
BLOCKING = ("serious", "critical")


def sign_in(page, key: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def shot(page, name: str) -> Path:
    """A full-page screenshot, out/screenshots/<name>.png (ADREEL_CONSOLE_SHOTS moves it)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA, best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return results.response["violations"]


def assert_accessible(page) -> None:
    """Fail, naming each rule, its help and the elements, if axe-core finds a serious
    or critical violation on the page."""
    violations = accessibility_violations(page)
    blocking = [v for v in violations if v.get("impact") in BLOCKING]
    assert not blocking, f"{page.url}: accessibility violations:\n" + "\n".join(
        f"- {v['impact']} {v['id']}: {v['help']} ({v['helpUrl']}) at "
        + "; ".join(" ".join(map(str, node["target"])) for node in v["nodes"][:5])
        for v in blocking
    )
