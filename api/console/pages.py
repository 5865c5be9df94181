"""Console pages: each handler checks the session, calls one service function (the same
as the CLI's and the API's) and renders one template. Decisions are form POSTs with the
session's CSRF token; every answer is a page, never a problem document."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlparse

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from api.auth import ACCOUNT_OPS, FINANCE_OPS, MERCHANT_ID
from api.console.session import (
    Session,
    csrf_ok,
    drop_session,
    new_csrf_token,
    read_session,
    write_session,
)
from api.problems import ApiProblem, error_status
from billing import service as billing
from campaigns import service as campaigns
from catalog.products import page_position, product_page
from generation.delivery import asset_url
from storage.errors import AdreelError
from storage.keys import ApiKey, authenticate
from storage.services import services

log = logging.getLogger(__name__)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
PAGE_SIZE = 24
SEARCH_CHUNK = 500  # products read at a time while searching a catalog
LINK_EXPIRES_S = 3600
FILTERS = ("template", "format", "locale", "variant", "decision")
ROLE_NAMES = {
    "merchant": "Merchant",
    "account_manager": "Account manager",
    "finance": "Finance",
    "admin": "Admin",
}


class SignInNeeded(Exception):
    """No live session; ``lapsed`` says why one ended ("expired", "revoked")."""

    def __init__(self, lapsed: str | None = None):
        super().__init__(lapsed)
        self.lapsed = lapsed


class PageRoute(APIRoute):
    """Errors become pages: the same statuses as the API's problems (a merchant's
    reach to another merchant is 404), a redirect to sign-in when there is no session."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded as exc:
                target = quote(request.url.path, safe="/")
                notice = f"&notice={exc.lapsed}" if exc.lapsed else ""
                return RedirectResponse(f"/sign-in?next={target}{notice}", status_code=303)
            except ApiProblem as exc:
                return error_page(request, exc.status, exc.detail)
            except AdreelError as exc:
                return error_page(request, error_status(exc), str(exc))

        return page_handler


router = APIRouter(route_class=PageRoute, include_in_schema=False)


def page(request: Request, name: str, session: Session | None, status_code: int = 200, **context):
    key = session.key if session else None
    context = {
        "request": request,
        "key": key,
        "role_name": ROLE_NAMES.get(key.role, "") if key else "",
        "csrf_token": session.csrf_token if session else "",
        "nav": navigation(key),
        # the longest link the path is under is the current page
        "current": max(
            (
                href
                for _, href in navigation(key)
                if (request.url.path + "/").startswith(href + "/")
            ),
            key=len,
            default=None,
        ),
        "path": request.url.path,
        "notice": request.query_params.get("notice"),
        **context,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    session = read_session(request)
    titles = {403: "Not allowed", 404: "Not found", 422: "Cannot do that"}
    title = titles.get(status, "Something went wrong")
    return page(request, "error.html", session, status, title=title, detail=detail)


def navigation(key: ApiKey | None) -> list[tuple[str, str]]:
    if key is None:
        return []
    if key.role == "merchant":
        home = f"/m/{key.merchant_id}"
        return [
            ("Home", home),
            ("Catalog", f"{home}/catalog"),
            ("Products", f"{home}/products"),
            ("Brand kit", f"{home}/brand"),
            ("Wallet", f"{home}/wallet"),
        ]
    links = []
    if key.role in ACCOUNT_OPS:  # api/console/staff.py
        links += [("Merchants", "/merchants"), ("Campaigns", "/campaigns")]
    if key.role in FINANCE_OPS:  # api/console/finance.py
        links += [
            ("Month", "/finance"),
            ("Imports", "/finance/imports"),
            ("Close month", "/finance/close"),
            ("Statements", "/statements"),
            ("Payouts", "/finance/payouts"),
        ]
    return links


def signed_in(request: Request, *roles: str) -> Session:
    session = read_session(request)
    if session is None or session.key is None:
        raise SignInNeeded(session.lapsed if session else None)
    if roles and session.key.role not in roles:
        raise ApiProblem(403, f"a {ROLE_NAMES[session.key.role].lower()} may not open this page")
    return session


def reachable(session: Session, merchant_id: str) -> str:
    """The merchant id, if the session's key may reach it; another merchant's is 404."""
    key = session.key
    if not re.match(MERCHANT_ID, merchant_id) or (
        key.role == "merchant" and key.merchant_id != merchant_id
    ):
        raise ApiProblem(404, f"no merchant {merchant_id}")
    return merchant_id


async def checked_form(request: Request, session: Session | None) -> dict[str, Any]:
    form = await request.form()
    if not csrf_ok(session, form.get("csrf_token")):
        raise ApiProblem(
            403, "this form has expired or did not come from this console; reload the page"
        )
    return {name: form.getlist(name) for name in form}


def first(form: dict, name: str) -> str:
    values = form.get(name) or [""]
    return str(values[0]).strip()


def local_next(target: str | None) -> str:
    """Only a path of this site (no open redirect)."""
    target = unquote(target or "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- sign-in and sign-out ---------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/"):
    session = read_session(request)
    if session and session.key:
        return RedirectResponse(local_next(next), status_code=303)
    token = session.csrf_token if session and not session.lapsed else new_csrf_token()
    shown = page(request, "sign_in.html", Session(token, None), next=local_next(next))
    if session is None or session.lapsed:
        write_session(request, shown, None, token)
    return shown


@router.post("/sign-in")
async def sign_in(request: Request):
    session = read_session(request)
    form = await checked_form(request, session)
    key = authenticate(services().db, first(form, "api_key"))
    if key is None:
        return page(
            request,
            "sign_in.html",
            session,
            401,
            error="That API key is wrong or revoked. Ask your account manager for a key "
            "(`adreel keys create`).",
            next=local_next(first(form, "next")),
        )
    target = local_next(first(form, "next"))
    if target in ("/", "/sign-in"):
        target = home_of(key)
    response = RedirectResponse(target, status_code=303)
    write_session(request, response, key)  # a new CSRF token for the signed-in session
    return response


@router.post("/sign-out")
async def sign_out(request: Request):
    session = read_session(request)
    await checked_form(request, session)
    response = RedirectResponse("/sign-in?notice=signed-out", status_code=303)
    drop_session(request, response)
    return response


def home_of(key: ApiKey) -> str:
    if key.role == "merchant":
        return f"/m/{key.merchant_id}"
    return "/campaigns" if key.role in ACCOUNT_OPS else "/statements"


@router.get("/")
def root(request: Request):
    session = signed_in(request)
    return RedirectResponse(home_of(session.key), status_code=303)


# --- merchant pages ---------------------------------------------------------------------


@router.get("/m/{merchant_id}")
def merchant_home(request: Request, merchant_id: str):
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    db = services().db
    listed = campaigns.list_campaigns(db, merchant_id)  # with counts awaiting review
    awaiting = {c["campaign_id"]: c["awaiting_review"] for c in listed}
    return page(
        request,
        "home.html",
        session,
        merchant_id=merchant_id,
        wallet=billing.wallet(db, merchant_id),
        campaigns=listed,
        awaiting=awaiting,
        awaiting_total=sum(awaiting.values()),
    )


LINK_S = 3600  # presigned links on a page stay valid this long


@router.get("/m/{merchant_id}/campaigns/{campaign_id}")
def campaign_page(request: Request, merchant_id: str, campaign_id: str):
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    status = campaigns.campaign_status(services().db, campaign_id, merchant_id)
    # with each material's stored files by kind, so the board can show posters at once
    materials = campaigns.material_links(services(), campaign_id, merchant_id, LINK_S)
    chosen = {name: request.query_params.get(name, "") for name in FILTERS}
    options = {
        name: sorted({str(m[name]) for m in materials if m[name] is not None}) for name in FILTERS
    }
    shown = [
        m
        for m in materials
        if m["preview_asset_id"] and all(not chosen[n] or str(m[n]) == chosen[n] for n in FILTERS)
    ]
    finals = [m for m in materials if m["final_asset_id"]]
    return page(
        request,
        "campaign.html",
        session,
        merchant_id=merchant_id,
        campaign=status,
        shown=shown,
        finals=finals,
        chosen=chosen,
        options=options,
        filtered=any(chosen.values()),
        awaiting=[m for m in shown if m["decision"] == "pending"],
    )


@router.post("/m/{merchant_id}/campaigns/{campaign_id}/decisions")
async def decide(request: Request, merchant_id: str, campaign_id: str):
    session = signed_in(request)
    form = await checked_form(request, session)
    merchant_id = reachable(session, merchant_id)
    decision = first(form, "decision")
    reason = first(form, "reason") or None
    back = f"/m/{merchant_id}/campaigns/{campaign_id}"
    query = first(form, "filters")
    if decision not in ("approved", "rejected"):
        raise ApiProblem(422, "choose approve or reject")
    try:
        asset_ids = [int(v) for v in form.get("asset_id", [])]
    except ValueError:
        raise ApiProblem(422, "asset ids are numbers") from None
    if not asset_ids:
        return RedirectResponse(f"{back}?{query}&notice=none-selected", status_code=303)
    if decision == "rejected" and not reason:
        return RedirectResponse(f"{back}?{query}&notice=reason-needed", status_code=303)
    applied = campaigns.decide(services().db, campaign_id, decision, asset_ids, reason, merchant_id)
    notice = f"{decision}-{len(applied)}"
    return RedirectResponse(f"{back}?{query}&notice={notice}", status_code=303)


@router.get("/m/{merchant_id}/assets/{asset_id}")
def asset(request: Request, merchant_id: str, asset_id: int):
    """The asset's file: a redirect to its presigned link, or the local file itself."""
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    url = asset_url(services(), merchant_id, asset_id, LINK_EXPIRES_S)
    if url.startswith("file://"):
        path = Path(unquote(urlparse(url).path))
        return FileResponse(path)
    return RedirectResponse(url, status_code=302)


@router.get("/m/{merchant_id}/products")
def products_page(
    request: Request,
    merchant_id: str,
    status: str = "",
    q: str = "",
    after: str = "",
    after_row: str = "",
    page_number: int = 1,
):
    """A page of the catalog, read from the database a page at a time (``after`` is the
    last product id shown, ``after_row`` the last quarantined row): a catalog of 10,000
    products loads one page, not the list."""
    session = signed_in(request)
    merchant_id = reachable(session, merchant_id)
    if status not in ("", "live", "removed", "quarantined"):
        status = ""
    words = q.strip()[:200]
    position = None
    if after_row.isdigit():
        position = (True, "", int(after_row))
    elif after:
        position = (False, after[:500], 0)
    found, more = _product_page(merchant_id, status or None, position, words.casefold())
    following = None
    if more:
        in_quarantine, last_id, last_row = page_position(found[-1])
        following = {"after_row": last_row} if in_quarantine else {"after": last_id}
    return page(
        request,
        "products.html",
        session,
        merchant_id=merchant_id,
        products=found,
        page_number=max(1, page_number) if position else 1,
        following=following,
        status_filter=status,
        query=words,
    )


def _product_page(merchant_id, status, after, words) -> tuple[list[dict], bool]:
    """``product_page``; with search words, the next page of products whose id or title
    holds them, read in chunks until a page is found (never the whole catalog at once)."""
    db = services().db
    if not words:
        return product_page(db, merchant_id, status, after, PAGE_SIZE)
    matches: list[dict] = []
    while True:
        chunk, more = product_page(db, merchant_id, status, after, SEARCH_CHUNK)
        for product in chunk:
            if words in f"{product['id'] or ''} {product['title'] or ''}".casefold():
                matches.append(product)
                if len(matches) > PAGE_SIZE:
                    return matches[:PAGE_SIZE], True
        if not more:
            return matches, False
        after = page_position(chunk[-1])
