"""Plan render jobs: one per product x template x format x variant x language, each named
by the content hash of everything that decides its output."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from catalog.products import list_products
from composer import platforms_for
from composer.defaults import DEFAULT_FORMAT, DEFAULT_LOCALE, DEFAULT_PLATFORMS, DEFAULT_TEMPLATE
from composer.formats import output_size
from composer.templates import templates
from generation.jobs import RenderJob, plan_render_job
from generation.profiles import RenderProfile, stage
from generation.requests import NEGATIVE_PROMPT, build_prompt, seed_for
from storage.services import Services

# How each template's clip is described to the video model.
TEMPLATE_STYLES = {name: template.style for name, template in templates().items()}


@dataclass(frozen=True)
class Material:
    """One ad a campaign asks for, before any profile is chosen."""

    product_id: str
    template: str = DEFAULT_TEMPLATE
    ad_format: str = DEFAULT_FORMAT
    variant: int = 0
    locale: str = DEFAULT_LOCALE


def plan_renders(
    services: Services,
    merchant_id: str,
    product_ids: list[str],
    profile_name: str,
    ad_format: str = DEFAULT_FORMAT,
    duration_s: float = 3.0,
    locale: str = DEFAULT_LOCALE,
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
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS,
) -> list[str]:
    """Record one render job per material at a profile; return the hashes in order.
    ``model`` is the configured one; the job's is the one the profile names, if any."""
    model, profile = stage(model, profile_name)
    hashes = []
    for material in materials:
        job = render_job(
            model,
            profile,
            products[material.product_id],
            merchant_id,
            material,
            duration_s,
            campaign_id,
            platforms,
        )
        plan_render_job(conn, job)
        hashes.append(job.request_hash)
    return hashes


def render_job(
    model: str,
    profile: RenderProfile,
    product: dict,
    merchant_id: str,
    material: Material,
    duration_s: float,
    campaign_id: str | None,
    platforms: tuple[str, ...],
) -> RenderJob:
    """Everything that decides a material's render at a profile; its hash names the job."""
    output_width, output_height = output_size(material.ad_format, profile.output_long_side)
    return RenderJob(
        merchant_id=merchant_id,
        product_id=product["product_id"],
        model=model,
        profile=profile,
        prompt=build_prompt(
            product["title"],
            product["product_category"],
            product["brand"],
            TEMPLATE_STYLES[material.template],
        ),
        negative_prompt=NEGATIVE_PROMPT,
        seed=seed_for(merchant_id, product["product_id"], material.variant),
        product_hash=product["content_hash"],
        image_key=product["image_key"],
        extra_image_keys=tuple(product.get("additional_image_keys") or ())[:2],
        duration_s=duration_s,
        output_width=output_width,
        output_height=output_height,
        template=material.template,
        ad_format=material.ad_format,
        locale=material.locale,
        # The layout keeps text clear of every listed platform that takes this format.
        platforms=platforms_for(material.ad_format, platforms),
        campaign_id=campaign_id,
    )
