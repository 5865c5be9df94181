"""The HTTP API against a real `adreel api` process: keys, roles, tenancy, problems,
idempotency, uploads, and Schemathesis fuzzing from the served OpenAPI spec."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import psycopg
import pytest
import yaml

from api.ratelimit import RateLimiter
from catalog.sample import write_sample_catalog
from storage.services import services
from storage.upload_jobs import create_job, upload_object_key
from storage.webhooks import SIGNATURE_HEADER, verify_signature
from tests.helpers.campaigns import (
    CONTRACT,
    PREVIEW_TOKENS,
    SAMPLE_IDS,
    create_campaign,
    merchant_with_catalog,
)
from tests.helpers.catalog import GOOGLE_TSV
from tests.helpers.cli import ADREEL, cli_json, cli_ok
from tests.helpers.services import BROKER_URL, free_port

MAX_UPLOAD_MB = 1
BAD_PRICE_ROW = "TS-9\tBad price\t\t\t\tlots\t\tin stock\tnew\t\t\t\n"
SAMPLE_PATH_VALUES = {
    "campaign_id": "c-missing",
    "asset_id": "1",
    "version": "1",
    "key_id": "999999",
    "period": "2026-01",
    "kind": "csv",
    "part": "report",
    "endpoint_id": "999999",
    "job_id": "999999",
}


@pytest.fixture(scope="session")
def api(adreel_env, tmp_path_factory):
    """A running `adreel api`, two merchants with catalogs, and a key per role."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("api") / "api.log"
    # the generated tests and Schemathesis send bursts: no rate limit on this server
    settings = {"ADREEL_API_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB), "ADREEL_API_RATE_PER_S": "0"}
    server, base = start_api(port, {**adreel_env, **settings}, log_path)
    folder = tmp_path_factory.mktemp("api-data")
    merchants = [f"api-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    keys = {}
    for merchant in merchants:
        keys[merchant] = cli_json(
            "keys", "create", "--role", "merchant", "--merchant", merchant, env=adreel_env
        )["key"]
        contract = folder / f"{merchant}.yaml"
        contract.write_text(CONTRACT.format(modes="[tokens, raas]", three=3 * PREVIEW_TOKENS))
        cli_ok(
            "contract", "create", "--merchant", merchant, "--file", str(contract), env=adreel_env
        )
    for role in ("account_manager", "finance", "admin"):
        keys[role] = cli_json("keys", "create", "--role", role, env=adreel_env)["key"]
    with httpx.Client(base_url=base, timeout=120) as client:
        for merchant in merchants:
            done = uploaded(client, keys[merchant], merchant, GOOGLE_TSV.encode())
            assert done["status"] == "processed", done
        yield {
            "base": base,
            "client": client,
            "merchants": merchants,
            "keys": keys,
            "env": adreel_env,
            "log": log_path,
        }
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def start_api(port: int, env: dict, log_path) -> tuple[subprocess.Popen, str]:
    """`adreel api` on ``port``, once its health check answers."""
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [ADREEL, "api", "--port", str(port)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise RuntimeError(f"adreel api did not start:\n{log_path.read_text()}")
        time.sleep(0.3)


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def upload(client, key, merchant, content: bytes, name="feed.tsv", headers=None, **form):
    return client.post(
        f"/v1/merchants/{merchant}/catalog/uploads",
        headers={**auth(key), **(headers or {})},
        files={"file": (name, content, "text/tab-separated-values")},
        data={"images": "defer", **form},
    )


def uploaded(client, key, merchant, content: bytes, **kwargs) -> dict:
    """Upload (202, processing) and follow the status URL until the job is done."""
    answer = upload(client, key, merchant, content, **kwargs)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["location"] == job["status_url"]
    return finished(client, key, job)


def finished(client, key, job: dict) -> dict:
    deadline = time.monotonic() + 120
    while job["status"] == "processing" and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(job["status_url"], headers=auth(key)).json()
    assert job["status"] != "processing", "the upload was not processed in 120 s"
    return job


def is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def operations(spec: dict) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, entry in spec["paths"].items()
        for method in entry
        if path != "/healthz"
    ]


def filled(path: str, merchant: str) -> str:
    values = {**SAMPLE_PATH_VALUES, "merchant_id": merchant}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_spec_docs_and_health_need_no_key(api):
    client = api["client"]
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    docs = client.get("/docs")
    assert docs.status_code == 200
    # the interactive docs load nothing from a CDN: every script and style is adreel's own
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert all(client.get(a).status_code == 200 for a in assets)
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["database"] == "ok" and health["store"] == "ok"


def test_every_operation_without_a_valid_key_is_401(api):
    client = api["client"]
    spec = client.get("/openapi.json").json()
    revoked = cli_json("keys", "create", "--role", "admin", env=api["env"])
    cli_ok("keys", "revoke", str(revoked["id"]), env=api["env"])
    bad = [{}, auth("adr_not-a-key"), auth(revoked["key"]), {"Authorization": "Basic eDp5"}]
    assert len(operations(spec)) >= 15
    for method, path in operations(spec):
        url = filled(path, api["merchants"][0])
        for headers in bad:
            answer = client.request(method, url, headers=headers)
            assert answer.status_code == 401, (method, path, headers, answer.text)
            is_problem(answer, 401)
            assert answer.headers["www-authenticate"].startswith("Bearer")


def snapshot(api, merchant: str) -> dict:
    client, staff = api["client"], auth(api["keys"]["admin"])
    base = f"/v1/merchants/{merchant}"
    return {
        "products": client.get(f"{base}/products", headers=staff).json(),
        "campaigns": client.get(f"{base}/campaigns", headers=staff).json(),
        "wallet": client.get(f"{base}/wallet", headers=staff).json(),
        "assets": client.get(f"{base}/assets", headers=staff).json(),
    }


def test_another_merchants_key_gets_404_like_a_missing_merchant_and_changes_nothing(api):
    client = api["client"]
    owner, other = api["merchants"]
    spec = client.get("/openapi.json").json()
    before = snapshot(api, owner)
    scoped = [(m, p) for m, p in operations(spec) if "{merchant_id}" in p]
    assert len(scoped) >= 10
    for method, path in scoped:
        kwargs = {"json": {}} if method in ("POST", "PUT") else {}
        answer = client.request(
            method, filled(path, owner), headers=auth(api["keys"][other]), **kwargs
        )
        body = is_problem(answer, 404)
        missing = client.request(
            method, filled(path, "no-such-merchant"), headers=auth(api["keys"][other]), **kwargs
        )
        assert is_problem(missing, 404)["detail"] == body["detail"].replace(
            owner, "no-such-merchant"
        )
    assert snapshot(api, owner) == before


def test_roles_decide_operations(api):
    client, keys = api["client"], api["keys"]
    merchant = api["merchants"][0]
    campaign = {"products": {"ids": ["TS-1"]}}
    url = f"/v1/merchants/{merchant}/campaigns/c-roles"
    is_problem(client.put(url, json=campaign, headers=auth(keys[merchant])), 403)
    is_problem(client.put(url, json=campaign, headers=auth(keys["finance"])), 403)
    is_problem(client.get("/v1/keys", headers=auth(keys[merchant])), 403)
    is_problem(client.get("/v1/keys", headers=auth(keys["account_manager"])), 403)
    pack = {"pack": "big"}
    packs = f"/v1/merchants/{merchant}/wallet/packs"
    is_problem(
        client.post(packs, json=pack, headers={**auth(keys[merchant]), "Idempotency-Key": "r1"}),
        403,
    )
    assert client.get("/v1/keys", headers=auth(keys["admin"])).status_code == 200
    created = client.put(url, json=campaign, headers=auth(keys["account_manager"]))
    assert created.status_code == 201, created.text
    again = client.put(url, json=campaign, headers=auth(keys["account_manager"]))
    assert again.status_code == 200 and again.json()["created"] is False
    listed = client.get(f"/v1/merchants/{merchant}/campaigns", headers=auth(keys[merchant]))
    assert [c["campaign_id"] for c in listed.json()["campaigns"]] == ["c-roles"]
    status = client.get(url, headers=auth(keys[merchant]))
    assert status.status_code == 200 and status.json()["merchant_id"] == merchant


def test_upload_is_processed_in_the_background_with_status_replay_and_idempotency_key(api):
    client, merchant = api["client"], api["merchants"][1]
    key = api["keys"][merchant]
    content = (GOOGLE_TSV.replace("19.99 USD", "21.00 USD") + BAD_PRICE_ROW).encode()
    first = upload(client, key, merchant, content, headers={"Idempotency-Key": "u-1"})
    assert first.status_code == 202, first.text
    job = first.json()
    assert job["status"] == "processing" and job["upload"] is None and job["report_url"] is None
    assert first.headers["location"] == job["status_url"]
    done = finished(client, key, job)
    assert done["status"] == "processed" and done["problem"] is None, done
    body = done["upload"]
    assert (body["rows_read"], body["accepted"], body["rejected"], body["version"]) == (4, 3, 1, 2)
    assert body["file"] == "feed.tsv" and body["rule_counts"], body
    status = client.get(body["status_url"], headers=auth(key))
    assert status.status_code == 200 and status.json()["accepted"] == 3
    report = client.get(done["report_url"], headers=auth(key))
    assert report.status_code == 200 and "Catalog report" in report.text
    rejected = client.get(done["rejected_csv_url"], headers=auth(key))
    assert rejected.headers["content-type"].startswith("text/csv") and "TS-9" in rejected.text
    replay = upload(client, key, merchant, content, headers={"Idempotency-Key": "u-1"})
    assert replay.status_code == 202 and replay.json() == job
    assert replay.headers["idempotent-replayed"] == "true"
    is_problem(
        upload(client, key, merchant, b"id\ttitle\n", headers={"Idempotency-Key": "u-1"}), 422
    )
    same_file = uploaded(client, key, merchant, content)
    assert same_file["upload"]["replayed"] is True and same_file["upload"]["version"] == 2
    other = auth(api["keys"][api["merchants"][0]])
    is_problem(client.get(job["status_url"], headers=other), 404)


def test_a_cut_off_upload_stores_nothing(api):
    merchant = api["merchants"][1]
    before = _stored_uploads(api, merchant)
    host, port = api["base"].removeprefix("http://").split(":")
    part = (
        b'--cut\r\nContent-Disposition: form-data; name="file"; filename="feed.tsv"\r\n'
        b"Content-Type: text/tab-separated-values\r\n\r\n" + GOOGLE_TSV.encode()
    )
    head = (
        f"POST /v1/merchants/{merchant}/catalog/uploads HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {api['keys'][merchant]}\r\n"
        "Content-Type: multipart/form-data; boundary=cut\r\n"
        f"Content-Length: {len(part) + 10_000}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + part)  # the rest never comes: the client goes away
    time.sleep(2)
    assert _stored_uploads(api, merchant) == before


def _stored_uploads(api, merchant: str) -> tuple[int, int]:
    """Upload jobs and catalog versions the merchant has in the database."""
    with psycopg.connect(api["env"]["ADREEL_DATABASE_URL"]) as conn:
        jobs = conn.execute(
            "SELECT count(*) FROM catalog_upload_jobs WHERE merchant_id = %s", [merchant]
        ).fetchone()[0]
        versions = conn.execute(
            "SELECT count(*) FROM catalog_uploads WHERE merchant_id = %s", [merchant]
        ).fetchone()[0]
    return jobs, versions


def test_products_are_paged_with_a_cursor(api):
    client, merchant = api["client"], api["merchants"][0]
    seen, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            f"/v1/merchants/{merchant}/products", params=params, headers=auth(api["keys"][merchant])
        ).json()
        seen += [p["id"] for p in page["products"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["TS-1", "TS-2", "TS-3"]
    is_problem(
        client.get(
            f"/v1/merchants/{merchant}/products",
            params={"cursor": "!!"},
            headers=auth(api["keys"][merchant]),
        ),
        422,
    )


def test_token_pack_is_charged_once_per_idempotency_key(api):
    client, merchant = api["client"], api["merchants"][0]
    headers = {**auth(api["keys"]["account_manager"]), "Idempotency-Key": "pack-1"}
    url = f"/v1/merchants/{merchant}/wallet/packs"
    first = client.post(url, json={"pack": "big"}, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["price"] == "100.00" and first.json()["currency"] == "USD"
    again = client.post(url, json={"pack": "big"}, headers=headers)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    is_problem(client.post(url, json={"pack": "three-previews"}, headers=headers), 422)
    wallet = client.get(f"/v1/merchants/{merchant}/wallet", headers=auth(api["keys"][merchant]))
    assert wallet.json()["balance"] == 100000
    no_key = client.post(url, json={"pack": "big"}, headers=auth(api["keys"]["account_manager"]))
    assert is_problem(no_key, 422)["field"] == "idempotency-key"


def test_bad_input_gets_problem_documents(api):
    client, merchant = api["client"], api["merchants"][0]
    am = auth(api["keys"]["account_manager"])
    base = f"/v1/merchants/{merchant}"
    malformed = client.post(
        f"{base}/campaigns/c-roles/decisions",
        content=b"{not json",
        headers={**am, "Content-Type": "application/json"},
    )
    is_problem(malformed, 422)
    unknown = client.post(
        f"{base}/campaigns/c-x/decisions",
        json={"decision": "approved", "colour": "red"},
        headers=am,
    )
    assert is_problem(unknown, 422)["field"] == "colour"
    spec_field = client.put(f"{base}/campaigns/c-bad", json={"products": {"idz": []}}, headers=am)
    assert "products.idz" in is_problem(spec_field, 422)["detail"]
    huge = client.put(
        f"{base}/campaigns/c-big",
        content=b"[" + b"1," * 700_000 + b"1]",
        headers={**am, "Content-Type": "application/json"},
    )
    is_problem(huge, 413)
    too_big = upload(client, api["keys"][merchant], merchant, b"x" * (MAX_UPLOAD_MB * 2**20 + 10))
    is_problem(too_big, 413)
    products = client.get(f"{base}/products", headers=am).json()
    bad_rows = uploaded(client, api["keys"][merchant], merchant, b"id,title\n", name="feed.csv")
    assert bad_rows["status"] == "failed" and bad_rows["upload"] is None
    problem = bad_rows["problem"]
    assert problem["status"] in (400, 422) and problem["detail"].startswith("feed.csv")
    assert "/tmp" not in problem["detail"]
    assert client.get(f"{base}/products", headers=am).json() == products
    is_problem(client.get(f"{base}/campaigns/c-missing", headers=am), 404)
    is_problem(client.get("/v1/merchants/a%01b/products", headers=am), 422)
    revoked = cli_json(
        "keys", "create", "--role", "merchant", "--merchant", merchant, env=api["env"]
    )
    assert client.get(f"{base}/wallet", headers=auth(revoked["key"])).status_code == 200
    cli_ok("keys", "revoke", str(revoked["id"]), env=api["env"])
    is_problem(client.get(f"{base}/wallet", headers=auth(revoked["key"])), 401)
    listed = cli_json("keys", "list", env=api["env"])["keys"]
    shown = next(k for k in listed if k["id"] == revoked["id"])
    assert shown["revoked_at"] and shown["last_used_at"] and "key" not in shown


def test_finance_imports_close_statements_over_http(api):
    client, keys, merchant = api["client"], api["keys"], api["merchants"][1]
    finance = auth(keys["finance"])
    is_problem(
        client.post(
            "/v1/finance/imports/orders",
            files={"file": ("orders.csv", b"order_id\n1\n", "text/csv")},
            headers=auth(keys[merchant]),
        ),
        403,
    )
    bad = (
        "order_id,line_id,merchant_id,ordered_at,customer_key,product_id,quantity,unit_price,"
        f"discount,currency,click_id\nO1,1,{merchant},2026-01-05T10:00:00Z,c1,TS-1,two,10.00,0,"
        "USD,\n"
    )
    refused = client.post(
        "/v1/finance/imports/orders",
        files={"file": ("orders.csv", bad.encode(), "text/csv")},
        headers=finance,
    )
    body = is_problem(refused, 422)
    assert body["file"] == "orders.csv" and body["row"] == 2 and body["field"] == "quantity"
    assert body["errors"][0]["file"] == "orders.csv" and "/tmp" not in body["detail"]
    future = client.post(
        "/v1/finance/periods/2999-01/close", json={"merchant_id": merchant}, headers=finance
    )
    assert "early" in is_problem(future, 400)["detail"]
    nobody = {"merchant_id": "no-such-merchant"}
    is_problem(client.post("/v1/finance/periods/2026-01/close", json=nobody, headers=finance), 404)
    closed = client.post(
        "/v1/finance/periods/2026-01/close", json={"merchant_id": merchant}, headers=finance
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["closed"] in ([merchant], [])
    base = f"/v1/merchants/{merchant}/statements/2026-01"
    as_csv = client.get(f"{base}/csv", headers=auth(keys[merchant]))
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.text.startswith("currency,kind")
    as_html = client.get(f"{base}/html", headers=auth(keys[merchant]))
    assert as_html.status_code == 200 and "<html" in as_html.text.lower()
    assert client.get("/v1/finance/payouts/2026-01", headers=finance).status_code == 200
    unattributed = client.get(f"/v1/merchants/{merchant}/unattributed/2026-01", headers=finance)
    assert unattributed.status_code == 200 and unattributed.json()["orders"] == []
    is_problem(
        client.get(f"/v1/merchants/{merchant}/unattributed/2026-01", headers=auth(keys[merchant])),
        403,
    )


def test_account_manager_contract_schedule_brand_kit_and_run(api):
    client, keys, merchant = api["client"], api["keys"], api["merchants"][1]
    am = auth(keys["account_manager"])
    base = f"/v1/merchants/{merchant}"
    terms = yaml.safe_load(CONTRACT.format(modes="[tokens, raas]", three=3 * PREVIEW_TOKENS))
    terms["effective_from"] = "2026-01-02"
    created = client.post(f"{base}/contracts", json=terms, headers=am)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 2
    wrong = client.post(f"{base}/contracts", json={**terms, "currency": 5}, headers=am)
    assert "currency" in is_problem(wrong, 422)["detail"]
    is_problem(client.post(f"{base}/contracts", json=terms, headers=auth(keys[merchant])), 403)
    campaign = f"{base}/campaigns/c-am"
    assert client.put(campaign, json={"products": {"ids": ["TS-1"]}}, headers=am).status_code == 201
    scheduled = client.put(f"{campaign}/schedule", json={"cron": "0 6 * * 1"}, headers=am)
    assert scheduled.status_code == 200 and scheduled.json()["next_run"], scheduled.text
    is_problem(client.put(f"{campaign}/schedule", json={"cron": "nope"}, headers=am), 400)
    assert client.delete(f"{campaign}/schedule", headers=am).json()["cron"] is None
    is_problem(
        client.put(f"{base}/campaigns/c-nope/schedule", json={"cron": "0 6 * * 1"}, headers=am), 404
    )
    materials = client.get(f"{campaign}/materials", headers=auth(keys[merchant]))
    assert materials.status_code == 200 and materials.json()["materials"] == []
    is_problem(client.post(f"{base}/campaigns/c-nope/runs", headers=am), 404)
    kit = {"name": "Acme", "primary": "#112233", "secondary": "#ffffff"}
    put = client.put(f"{base}/brand-kit", data=kit, headers=am)
    assert put.status_code == 200, put.text
    shown = client.get(f"{base}/brand-kit", headers=auth(keys[merchant])).json()
    assert shown["primary_colour"] == "#112233"
    bad_kit = client.put(f"{base}/brand-kit", data={"primary": "blue-ish"}, headers=am)
    assert "primary" in is_problem(bad_kit, bad_kit.status_code)["detail"]
    report = client.get(f"{base}/catalog/uploads/1/report", headers=auth(keys[merchant]))
    assert report.status_code == 200 and "Catalog report" in report.text
    rejected = client.get(f"{base}/catalog/uploads/1/rejected.csv", headers=auth(keys[merchant]))
    assert rejected.status_code == 200 and rejected.headers["content-type"].startswith("text/csv")


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204 if len(self.received) > 1 else 500)  # the first try fails
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhooks_are_signed_retried_and_logged(api):
    client, merchant = api["client"], api["merchants"][0]
    key = auth(api["keys"][merchant])
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/hook"
        hooks = f"/v1/merchants/{merchant}/webhooks"
        made = client.post(hooks, json={"url": url, "events": ["catalog.processed"]}, headers=key)
        assert made.status_code == 201, made.text
        endpoint, secret = made.json()["endpoint_id"], made.json()["secret"]
        assert "secret" not in client.get(hooks, headers=key).json()["endpoints"][0] or (
            client.get(hooks, headers=key).json()["endpoints"][0]["secret"] is None
        )
        is_problem(client.post(hooks, json={"url": url, "events": ["nope"]}, headers=key), 422)
        content = GOOGLE_TSV.replace("19.99 USD", "23.00 USD").encode()
        assert uploaded(client, api["keys"][merchant], merchant, content)["status"] == "processed"
        # the first try answers 500; the retry comes after the backoff (10 s)
        deadline = time.monotonic() + 40
        while len(Receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(Receiver.received) == 2
        headers, body = Receiver.received[-1]
        assert verify_signature(secret, headers[SIGNATURE_HEADER], body)
        assert not verify_signature("whsec_wrong", headers[SIGNATURE_HEADER], body)
        assert not verify_signature(secret, headers[SIGNATURE_HEADER], body, now=time.time() + 900)
        assert yaml.safe_load(body)["event"] == "catalog.processed"
        log = client.get(f"{hooks}/{endpoint}/deliveries", headers=key).json()["deliveries"]
        assert log[0]["delivered_at"] and [t["status_code"] for t in log[0]["tries"]] == [500, 204]
        other = auth(api["keys"][api["merchants"][1]])
        is_problem(client.get(f"{hooks}/{endpoint}/deliveries", headers=other), 404)
        assert client.delete(f"{hooks}/{endpoint}", headers=key).status_code == 204
    finally:
        server.shutdown()


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(yaml.safe_load(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_work_started_from_the_cli_sends_its_webhooks(api, tmp_path):
    """Events are queued by the domain services (a catalog upload, a month close), not
    by API handlers: work started from the CLI delivers them to a registered receiver."""
    client, merchant = api["client"], api["merchants"][1]
    Collector.received.clear()
    key = auth(api["keys"][merchant])
    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/cli-hook"
        hooks = f"/v1/merchants/{merchant}/webhooks"
        events = ["catalog.processed", "period.closed"]
        made = client.post(hooks, json={"url": url, "events": events}, headers=key)
        assert made.status_code == 201, made.text
        feed = tmp_path / "cli-feed.tsv"
        feed.write_text(GOOGLE_TSV.replace("19.99 USD", "31.00 USD"))
        result = cli_json(
            "catalog", "upload", "--merchant", merchant, "--images", "defer", "--json", str(feed),
            env=api["env"],
        )  # fmt: skip
        closed = cli_json(
            "finance", "close", "--merchant", merchant, "--period", "2025-06", "--json",
            env=api["env"],
        )  # fmt: skip
        assert closed["closed"] == [merchant]
        deadline = time.monotonic() + 30
        while len(Collector.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        by_event = {e["event"]: e for e in Collector.received}
        assert sorted(by_event) == events and len(Collector.received) == 2
        data = by_event["catalog.processed"]["data"]
        assert data["version"] == result["version"] and data["file"] == "cli-feed.tsv"
        assert (data["rows_read"], data["accepted"]) == (3, 3)
        assert by_event["period.closed"]["data"] == {"period": "2025-06"}
        client.delete(f"{hooks}/{made.json()['endpoint_id']}", headers=key)
    finally:
        server.shutdown()


def test_a_campaign_run_from_the_cli_sends_previews_ready_and_finals_delivered(api, tmp_path):
    """The run itself queues them (campaigns.runs), whoever started it."""
    env, client = api["env"], api["client"]
    merchant = merchant_with_catalog(env, write_sample_catalog(tmp_path / "sample"), tmp_path)
    campaign = create_campaign(env, merchant, tmp_path, products={"ids": SAMPLE_IDS[:1]})
    key = auth(
        cli_json("keys", "create", "--role", "merchant", "--merchant", merchant, env=env)["key"]
    )
    Collector.received.clear()
    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/runs"
        events = ["previews.ready", "finals.delivered"]
        hooks = f"/v1/merchants/{merchant}/webhooks"
        assert client.post(hooks, json={"url": url, "events": events}, headers=key).is_success
        first = cli_json("campaign", "run", campaign, env=env)
        assert first["previews"]["rendered"] == 1, first
        preview = cli_json("campaign", "status", campaign, env=env)["materials"][0]
        approve = ["campaign", "approve", campaign, "--assets", str(preview["preview_asset_id"])]
        cli_ok(*approve, env=env)
        second = cli_json("campaign", "run", campaign, env=env)
        assert second["delivery"]["delivered"] == 1, second
        deadline = time.monotonic() + 30
        while len(Collector.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.3)
        by_event = {e["event"]: e["data"] for e in Collector.received}
        assert by_event == {
            "previews.ready": {"campaign_id": campaign, "rendered": 1},
            "finals.delivered": {"campaign_id": campaign, "delivered": 1},
        }
    finally:
        server.shutdown()


def test_an_upload_job_no_process_holds_is_taken_over(api, tmp_path):
    """A job whose API process died (stored and recorded, never finished) is found by
    a running server's worker, which polls for jobs nobody holds."""
    merchant = api["merchants"][0]
    feed = tmp_path / "orphan.tsv"
    feed.write_text(GOOGLE_TSV)
    digest = hashlib.sha256(feed.read_bytes()).hexdigest()
    here = services()
    object_key = upload_object_key(here.settings.s3_prefix, merchant, digest)
    here.store.put_file(object_key, feed, "application/octet-stream")
    options = {"format": None, "currency": None, "images": "defer", "mode": "full"}
    job = create_job(here.db, merchant, object_key, "orphan.tsv", digest, options, None)
    status_url = f"{api['base']}/v1/merchants/{merchant}/catalog/jobs/{job['job_id']}"
    done = finished(
        api["client"], api["keys"][merchant], {"status": "processing", "status_url": status_url}
    )
    assert done["status"] == "processed" and done["upload"]["file"] == "orphan.tsv", done


def test_a_revoked_key_is_refused_at_once_by_a_running_server(api):
    """Keys are cached in the server; a revoke (CLI or API) still counts on the next
    request, because it NOTIFYs every server's cache."""
    client, merchant = api["client"], api["merchants"][0]
    wallet = f"/v1/merchants/{merchant}/wallet"
    for how in ("cli", "api", "cli"):
        made = cli_json(
            "keys", "create", "--role", "merchant", "--merchant", merchant, env=api["env"]
        )
        for _ in range(3):  # known to the server's cache now
            assert client.get(wallet, headers=auth(made["key"])).status_code == 200
        if how == "cli":
            cli_ok("keys", "revoke", str(made["id"]), env=api["env"])
        else:
            gone = client.delete(f"/v1/keys/{made['id']}", headers=auth(api["keys"]["admin"]))
            assert gone.status_code == 200 and gone.json()["revoked_at"]
        is_problem(client.get(wallet, headers=auth(made["key"])), 401)


@pytest.mark.parametrize("role", ["merchant", "finance"])
def test_schemathesis_finds_no_server_error_or_schema_violation(api, role, tmp_path):
    key = api["keys"][api["merchants"][0] if role == "merchant" else role]
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{api['base']}/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "8",
            "--phases",
            "examples,fuzzing",
            "--exclude-method",
            "DELETE",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,  # its cache folder goes there, not into the checkout
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_a_key_over_its_rate_gets_429_with_retry_after(api, adreel_env, tmp_path):
    """Per key and per process: another key is not slowed by the first."""
    env = {**adreel_env, "ADREEL_API_RATE_PER_S": "0.5", "ADREEL_API_RATE_BURST": "2"}
    server, base = start_api(free_port(), env, tmp_path / "limited.log")
    merchant = api["merchants"][0]
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            wallet = f"/v1/merchants/{merchant}/wallet"
            answers = [client.get(wallet, headers=auth(api["keys"][merchant])) for _ in range(3)]
            assert [a.status_code for a in answers] == [200, 200, 429]
            limited = is_problem(answers[2], 429)
            assert int(answers[2].headers["Retry-After"]) >= 1 and "retry" in limited["detail"]
            other = client.get(wallet, headers=auth(api["keys"]["finance"]))
            assert other.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_two_servers_share_a_keys_rate_through_redis(api, adreel_env, tmp_path):
    """With Redis configured the bucket is one per key across every process."""
    env = {
        **adreel_env,
        "ADREEL_API_RATE_PER_S": "0.2",
        "ADREEL_API_RATE_BURST": "2",
        "ADREEL_API_RATE_URL": BROKER_URL,
    }
    servers = [start_api(free_port(), env, tmp_path / f"shared-{n}.log") for n in range(2)]
    merchant = api["merchants"][0]
    wallet = f"/v1/merchants/{merchant}/wallet"
    try:
        (_, one), (_, two) = servers
        key = auth(api["keys"][merchant])
        answers = [httpx.get(base + wallet, headers=key) for base in (one, two, two, one)]
        assert [a.status_code for a in answers] == [200, 200, 429, 429]
        assert int(answers[2].headers["Retry-After"]) >= 1
        other = httpx.get(two + wallet, headers=auth(api["keys"]["finance"]))
        assert other.status_code == 200
    finally:
        for server, _ in servers:
            server.terminate()
            server.wait(timeout=30)


def test_the_bucket_refills_at_its_rate():
    limiter = RateLimiter(per_second=2, burst=2)
    assert [limiter.take(1, now=0.0) for _ in range(3)] == [0, 0, 1]
    assert limiter.take(1, now=0.5) == 0  # one request back after half a second
    assert limiter.take(2, now=0.5) == 0  # keys do not share a bucket
    assert RateLimiter(per_second=0, burst=1).take(1) == 0  # 0: no limit
