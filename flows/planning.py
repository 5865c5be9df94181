"""Plan render jobs: one per product x format (x template x variant, later), each named
by the content hash of everything that decides its output."""

from __future__ import annotations

from flows.services import Services
from generation.profiles import output_size, render_profile
from generation.requests import NEGATIVE_PROMPT, build_prompt, request_hash, seed_for
from storage.products import list_products
from storage.renders import plan_render_job

SHOWCASE_STYLE = "a product showcase video"


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
    model = services.settings.model
    profile = render_profile(model, profile_name)
    output_width, output_height = output_size(profile, ad_format)
    hashes = []
    with services.db.connection() as conn, conn.transaction():
        for product in list_products(conn, merchant_id, product_ids):
            spec = {
                **profile.as_dict(),
                "template": "showcase",
                "format": ad_format,
                "locale": locale,
                "duration_s": duration_s,
                "output_width": output_width,
                "output_height": output_height,
                "prompt": build_prompt(
                    product["title"],
                    product["product_category"],
                    product["brand"],
                    SHOWCASE_STYLE,
                ),
                "negative_prompt": NEGATIVE_PROMPT,
                "seed": seed_for(merchant_id, product["product_id"], variant=0),
                "product_hash": product["content_hash"],
                "image_key": product["image_key"],
            }
            job_hash = request_hash(model, spec)
            plan_render_job(
                conn,
                {
                    "request_hash": job_hash,
                    "merchant_id": merchant_id,
                    "product_id": product["product_id"],
                    "model": model,
                    "profile": profile_name,
                    "spec": spec,
                },
            )
            hashes.append(job_hash)
    return hashes
