"""A merchant's brand kit: everyone who reaches the merchant reads it; account managers
set it (multipart: the kit file's fields, and the logo and font as files)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, File, Form, UploadFile

from api.auth import ACCOUNT_OPS, MERCHANT_OPS, merchant_for
from api.problems import responses
from api.render import render
from api.uploads import save, upload_folder
from composer.kits import brand_kit, set_brand_kit
from storage.services import services

router = APIRouter(
    prefix="/v1/merchants/{merchant_id}/brand-kit",
    tags=["brand kit"],
    responses=responses(401, 403, 404, 422),
)
Reader = Annotated[str, Depends(merchant_for(*MERCHANT_OPS))]
Manager = Annotated[str, Depends(merchant_for(*ACCOUNT_OPS))]
Colour = Annotated[str | None, Form(max_length=32, description="e.g. #1a2b3c.")]


@router.get("", response_model=dict[str, Any] | None)
def get_kit(merchant_id: Reader):
    """The stored kit (colours, call to action, logo and font object keys), or null."""
    return render(brand_kit(services().db, merchant_id))


@router.put("", response_model=dict[str, Any], responses=responses(413))
def put_kit(
    merchant_id: Manager,
    name: Annotated[str | None, Form(max_length=200)] = None,
    primary: Colour = None,
    secondary: Colour = None,
    call_to_action: Annotated[
        str | None,
        Form(max_length=2000, description='Text, or JSON per language: {"en": "Buy now"}.'),
    ] = None,
    logo: Annotated[UploadFile | None, File(description="PNG or JPEG.")] = None,
    font: Annotated[UploadFile | None, File(description="TTF or OTF.")] = None,
):
    """Check and store the kit, exactly as `adreel brand set` does with a kit file; the
    same kit again changes nothing (``changed`` false)."""
    with upload_folder("brand") as folder:
        fields: dict[str, Any] = {"name": name, "primary": primary, "secondary": secondary}
        if call_to_action:
            try:
                fields["call_to_action"] = json.loads(call_to_action)
            except ValueError:
                fields["call_to_action"] = call_to_action
        for field, upload in (("logo", logo), ("font", font)):
            if upload is not None:
                fields[field] = save(upload, folder, field)[0].name
        kit_file = folder / "brand-kit.yaml"
        given = {k: v for k, v in fields.items() if v is not None}
        kit_file.write_text(yaml.safe_dump(given), encoding="utf-8")
        row, changed = set_brand_kit(services(), merchant_id, kit_file)
        return render({**row, "changed": changed})
