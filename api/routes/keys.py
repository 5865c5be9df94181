"""``/v1/keys``: API keys, for admins (the same functions as ``adreel keys``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from api.auth import ADMIN_OPS, MERCHANT_ID, allow
from api.problems import responses
from api.render import render
from storage.keys import create_key, list_keys, revoke_key
from storage.services import services

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=responses(401, 403, 422))
Admin = Depends(allow(*ADMIN_OPS))


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["merchant", "account_manager", "finance", "admin"]
    merchant_id: str | None = Field(None, pattern=MERCHANT_ID)
    name: str | None = Field(None, max_length=200)


class KeyInfo(BaseModel):
    id: int
    prefix: str
    role: str
    merchant_id: str | None
    name: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class CreatedKey(KeyInfo):
    key: str = Field(description="The key itself: shown in this answer only.")


class KeyList(BaseModel):
    keys: list[KeyInfo]


@router.post("", status_code=201, response_model=CreatedKey, dependencies=[Admin])
def create(body: NewKey):
    return render(create_key(services().db, body.role, body.merchant_id, body.name), 201)


@router.get("", response_model=KeyList, dependencies=[Admin])
def list_all():
    return render({"keys": list_keys(services().db)})


@router.delete("/{key_id}", response_model=KeyInfo, dependencies=[Admin], responses=responses(404))
def revoke(key_id: Annotated[int, Path(ge=1, le=2**62)]):
    return render(revoke_key(services().db, key_id))
