"""Set-up shared by the campaign tests: a merchant with the sample catalog, a contract
and a token pack, and campaign files, all through the CLI as a user would."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml

from generation.metering import tokens_for
from storage.services import services
from tests.helpers.cli import cli_json, cli_ok

PREVIEW_TOKENS = tokens_for(96, 160, 9)  # builtin:tiny's preview profile
FINAL_TOKENS = tokens_for(160, 288, 17)  # and its final profile
SAMPLE_IDS = [f"SKU-{n}" for n in range(1001, 1021)]

CONTRACT = """\
effective_from: 2026-01-01
currency: USD
modes: {modes}
tokens:
  price_per_1000: "2.50"
  packs:
    - {{name: big, tokens: 100000, price: "100.00"}}
    - {{name: three-previews, tokens: {three}, price: "4.05"}}
raas:
  - {{format: "9x16", duration_s: 6, price: "4.00"}}
"""


def merchant_with_catalog(
    env: dict,
    catalog: Path,
    tmp_path: Path,
    modes: str = "[tokens, raas]",
    pack: str | None = "big",
) -> str:
    merchant = f"camp-{uuid.uuid4().hex[:8]}"
    cli_ok("catalog", "upload", "--merchant", merchant, str(catalog), env=env)
    contract = tmp_path / f"{merchant}-contract.yaml"
    contract.write_text(CONTRACT.format(modes=modes, three=3 * PREVIEW_TOKENS))
    cli_ok("contract", "create", "--merchant", merchant, "--file", str(contract), env=env)
    if pack:
        cli_ok("wallet", "buy", "--merchant", merchant, "--pack", pack, "--key", "p1", env=env)
    return merchant


def create_campaign(env: dict, merchant: str, tmp_path: Path, **fields) -> str:
    campaign_id = f"c-{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{campaign_id}.yaml"
    path.write_text(yaml.safe_dump({"campaign": campaign_id, **fields}))
    cli_ok("campaign", "create", "--merchant", merchant, "--file", str(path), env=env)
    return campaign_id


def wallet(env: dict, merchant: str) -> dict:
    return cli_json("wallet", "show", "--merchant", merchant, env=env)


def render_counts(campaign_id: str) -> list[dict]:
    """Per render job of the campaign: how many asset rows and usage rows it has."""
    with services().db.connection() as conn:
        return conn.execute(
            """SELECT j.request_hash, j.profile,
                      (SELECT count(*) FROM assets a
                        WHERE a.request_hash = j.request_hash) AS assets,
                      (SELECT count(*) FROM render_usage u
                        WHERE u.request_hash = j.request_hash) AS usage
               FROM render_jobs j WHERE j.spec->>'campaign_id' = %s""",
            (campaign_id,),
        ).fetchall()


def open_holds(merchant: str) -> int:
    with services().db.connection() as conn:
        return conn.execute(
            "SELECT count(*) AS n FROM token_holds WHERE merchant_id = %s AND status = 'held'",
            (merchant,),
        ).fetchone()["n"]
