"""Plan render jobs: one per product x template x format x variant x language, each named
by the content hash of everything that decides its output."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from catalog.products import list_products
from composer import platforms_for, templates
from generation.jobs import plan_render_job
from generation.metering import tokens_for
from generation.profiles import output_size, render_profile
from generation.requests import NEGATIVE_PROMPT, build_prompt, request_hash, seed_for
from storage.services import Services

# How each template's clip is described to the video model.
TEMPLATE_STYLES = {name: template.style for name, template in templates().items()}


@dataclass(frozen=True)
class Material:
    """One ad a campaign asks for, before any profile is chosen."""

    product_id: str
    template: str = "showcase"
    ad_format: str = "9x16"
    variant: int = 0
    locale: str = "en_US"


def plan_renders(
    services: Services,
    merchant_id: str,
    product_ids: list[str],
    profile_name: str,
    ad_format: str = "9x16",
    duration_s: float = 3.0,
    locale: str = "en_US",
) -> list[str]:
    """Record a job per product (a no-op for jobs planned before); return their hashes."""
    materials = [Material(pid, ad_format=ad_format, locale=locale) for pid in product_ids]
    with services.db.connection() as conn, conn.transaction():
        products = {p["product_id"]: p for p in list_products(conn, merchant_id, product_ids)}
        return plan_material_renders(
            conn,
            services.settings.model,
            merchant_id,
            products,
            materials,
            profile_name,
            duration_s,
        )


def plan_material_renders(
    conn: psycopg.Connection,
    model: str,
    merchant_id: str,
    products: dict[str, dict],
    materials: list[Material],
    profile_name: str,
    duration_s: float,
    campaign_id: str | None = None,
    platforms: tuple[str, ...] = ("tiktok",),
) -> list[str]:
    """Record one render job per material at a profile; return the hashes in order."""
    profile = render_profile(model, profile_name)
    hashes = []
    for material in materials:
        spec = job_spec(
            profile, products[material.product_id], merchant_id, material, duration_s, campaign_id
        )
        # The layout keeps text clear of every listed platform that takes this format.
        spec["platforms"] = list(platforms_for(material.ad_format, platforms))
        job_hash = request_hash(model, spec)
        plan_render_job(
            conn,
            {
                "request_hash": job_hash,
                "merchant_id": merchant_id,
                "product_id": material.product_id,
                "model": model,
                "profile": profile_name,
                "spec": spec,
            },
        )
        hashes.append(job_hash)
    return hashes


def job_spec(
    profile,
    product: dict,
    merchant_id: str,
    material: Material,
    duration_s: float,
    campaign_id: str | None,
) -> dict:
    """Everything that decides a render's output; its hash names the job."""
    output_width, output_height = output_size(profile, material.ad_format)
    spec = {
        **profile.as_dict(),
        "template": material.template,
        "format": material.ad_format,
        "locale": material.locale,
        "duration_s": duration_s,
        "output_width": output_width,
        "output_height": output_height,
        "prompt": build_prompt(
            product["title"],
            product["product_category"],
            product["brand"],
            TEMPLATE_STYLES[material.template],
        ),
        "negative_prompt": NEGATIVE_PROMPT,
        "seed": seed_for(merchant_id, product["product_id"], material.variant),
        "product_hash": product["content_hash"],
        "image_key": product["image_key"],
    }
    if campaign_id is not None:
        # Usage and assets are the campaign's: the same ad in two campaigns is two jobs.
        spec["campaign_id"] = campaign_id
    return spec


def job_tokens(spec: dict) -> int:
    """The tokens a planned job will meter when it renders."""
    return tokens_for(spec["width"], spec["height"], spec["num_frames"])
