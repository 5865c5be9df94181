"""Who a request acts as (a Bearer API key) and what its role and merchant allow.

A merchant key reaches only its own merchant: any other merchant id in a path answers
404, exactly as a merchant adreel has never seen. Staff keys reach every merchant.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.problems import ApiProblem
from api.ratelimit import RateLimiter, SharedRateLimiter, rate_limiter
from storage.keys import ApiKey, authenticate, remembered
from storage.merchants import UnknownMerchant
from storage.services import services
from storage.settings import get_settings

MERCHANT_ID = r"^[A-Za-z0-9_.\-]{1,64}$"
# Who may do what (issue 19): each group adds to the merchant's reads and decisions.
MERCHANT_OPS = ("merchant", "account_manager", "finance", "admin")
ACCOUNT_OPS = ("account_manager", "admin")
FINANCE_OPS = ("finance", "admin")
ADMIN_OPS = ("admin",)

_bearer = HTTPBearer(auto_error=False, description="An API key from `adreel keys create`.")


async def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiKey:
    """The live key the request carries, or 401 (missing, wrong or revoked). A key this
    process has seen is answered from its key cache, on the event loop; only a new one
    is looked up in PostgreSQL (in the thread pool)."""
    challenge = {"WWW-Authenticate": 'Bearer realm="adreel"'}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiProblem(401, "an API key is needed: Authorization: Bearer <key>", challenge)
    token = credentials.credentials.strip()
    key = remembered(token) or await run_in_threadpool(authenticate, services().db, token)
    if key is None:
        raise ApiProblem(401, "the API key is wrong or revoked", challenge)
    wait_s = await _limiter().wait(key.key_id)
    if wait_s:
        raise ApiProblem(
            429,
            f"too many requests for this key; retry in {wait_s} s",
            {"Retry-After": str(wait_s)},
        )
    request.state.api_key = key
    return key


@cache
def _limiter() -> RateLimiter | SharedRateLimiter:
    settings = get_settings()
    url = settings.api_rate_url or settings.broker_url
    return rate_limiter(settings.api_rate_per_s, settings.api_rate_burst, url, services().db.url)


def allow(*roles: str):
    """A dependency: the caller, if its role is one of ``roles``; else 403."""

    async def check(key: Annotated[ApiKey, Depends(caller)]) -> ApiKey:
        if key.role not in roles:
            raise ApiProblem(403, f"a {key.role} key may not do this; roles: {', '.join(roles)}")
        return key

    return check


MerchantPath = Annotated[str, Path(pattern=MERCHANT_ID, description="Merchant id.")]


def merchant_for(*roles: str):
    """A dependency for ``/v1/merchants/{merchant_id}/...``: the merchant id, once the
    caller may reach it (tenancy first: another merchant's answers 404 whatever the
    operation), and then its role allows the operation (403)."""

    async def check(merchant_id: MerchantPath, key: Annotated[ApiKey, Depends(caller)]) -> str:
        if key.role == "merchant" and key.merchant_id != merchant_id:
            raise UnknownMerchant(merchant_id)
        if key.role not in roles:
            raise ApiProblem(403, f"a {key.role} key may not do this; roles: {', '.join(roles)}")
        return merchant_id

    return check
