"""Fixtures for the account manager and finance walkthroughs: a real `adreel api` that
renders with builtin:motion (a campaign run started from the console finishes in seconds
on the CPU), merchants set up through the CLI, a key per role, and headless Chromium.

    from tests.helpers.console_staff import chromium, staff_api  # noqa: F401
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from catalog.sample import write_sample_catalog
from tests.helpers.campaigns import merchant_with_catalog
from tests.helpers.cli import cli_json
from tests.helpers.console import CHROMIUM
from tests.helpers.services import free_port


@pytest.fixture(scope="module")
def staff_api(adreel_env, tmp_path_factory):
    """A running `adreel api`; ``merchant`` (sample catalog, contract, a 100,000-token
    pack), ``other`` (the same catalog, no pack) and keys for the merchant and staff."""
    from tests.test_api import start_api

    folder = tmp_path_factory.mktemp("console-staff")
    env = {**adreel_env, "ADREEL_MODEL": "builtin:motion", "ADREEL_API_RATE_PER_S": "0"}
    server, base = start_api(free_port(), env, folder / "api.log")
    catalog = write_sample_catalog(folder / "catalog")
    merchant = merchant_with_catalog(env, catalog, folder)
    other = merchant_with_catalog(env, catalog, folder, pack=None)
    keys = {
        role: cli_json("keys", "create", "--role", role, env=env)["key"]
        for role in ("account_manager", "finance")
    }
    keys["merchant"] = cli_json(
        "keys", "create", "--role", "merchant", "--merchant", merchant, env=env
    )["key"]
    yield {
        "base": base,
        "env": env,
        "merchant": merchant,
        "other": other,
        "keys": keys,
        "log": folder / "api.log",
        "folder": folder,
    }
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@contextmanager
def signed_in_client(base: str, key: str) -> Iterator[httpx.Client]:
    """An HTTP client holding a console session for ``key`` (no redirects followed)."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as client:
        form = client.get("/sign-in")
        signed = client.post("/sign-in", data={"api_key": key, "csrf_token": csrf_of(form.text)})
        assert signed.status_code == 303, signed.text
        yield client


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)
