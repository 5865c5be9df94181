"""Render jobs: one row per render request hash, so a request is rendered once.

``RenderJob`` is the one contract between campaigns/ and generation/: planning builds
them, the renderer reads them. Its JSON (``render_jobs.spec``) holds everything that
decides the output, so its hash names the job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from composer.defaults import DEFAULT_FORMAT, DEFAULT_LOCALE, DEFAULT_PLATFORMS, DEFAULT_TEMPLATE
from generation.metering import tokens_for_render
from generation.profiles import RenderProfile, UpscaleStage
from generation.queries import query
from generation.requests import request_hash

# The profile's fields, kept flat in the job's JSON beside the job's own.
_PROFILE_KEYS = (
    "name",
    "width",
    "height",
    "num_frames",
    "steps",
    "guidance",
    "clip_fps",
    "max_sequence_length",
    "output_long_side",
)


@dataclass(frozen=True)
class RenderJob:
    """One planned render: the product, the model and profile, and the ad around the clip.

    ``request_hash`` is computed from the content when a job is planned; a job read back
    keeps the hash it was stored under (rows stored before a field existed load with the
    field's default, and must not be renamed by it).
    """

    merchant_id: str
    product_id: str
    model: str
    profile: RenderProfile
    prompt: str
    negative_prompt: str
    seed: int
    product_hash: str
    image_key: str | None
    duration_s: float
    output_width: int
    output_height: int
    template: str = DEFAULT_TEMPLATE
    ad_format: str = DEFAULT_FORMAT
    locale: str = DEFAULT_LOCALE
    platforms: tuple[str, ...] = DEFAULT_PLATFORMS
    # Usage and assets are the campaign's: the same ad in two campaigns is two jobs.
    campaign_id: str | None = None
    # The product's additional images in the object store (the motion tier gives each a
    # scene of its own); absent from the spec when there are none, so old hashes stand.
    extra_image_keys: tuple[str, ...] = ()
    request_hash: str = ""

    def __post_init__(self) -> None:
        if not self.request_hash:
            object.__setattr__(self, "request_hash", request_hash(self.model, self.to_json()))

    @property
    def tokens(self) -> int:
        """What the clip meters when it renders (``metering.tokens_for_render``)."""
        profile = self.profile
        return tokens_for_render(self.model, profile.width, profile.height, profile.num_frames)

    @property
    def variant(self) -> str:
        """The assets' variant: format and profile, e.g. ``9x16-preview``."""
        return f"{self.ad_format}-{self.profile.name}"

    def to_json(self) -> dict[str, Any]:
        """The ``spec`` column; without a campaign (or upscale stage) the key is absent, so
        every hash stays as it was before those existed."""
        spec = {
            **self.profile.as_dict(),
            "template": self.template,
            "format": self.ad_format,
            "locale": self.locale,
            "duration_s": self.duration_s,
            "output_width": self.output_width,
            "output_height": self.output_height,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "product_hash": self.product_hash,
            "image_key": self.image_key,
        }
        if self.campaign_id is not None:
            spec["campaign_id"] = self.campaign_id
        if self.extra_image_keys:
            spec["extra_image_keys"] = list(self.extra_image_keys)
        spec["platforms"] = list(self.platforms)
        return spec

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> RenderJob:
        """A ``render_jobs`` row; keys a stored spec lacks take their defaults."""
        spec = row["spec"]
        upscale = spec.get("upscale")
        profile = RenderProfile(
            **{key: spec[key] for key in _PROFILE_KEYS},
            upscale=UpscaleStage(**upscale) if upscale else None,
        )
        return cls(
            merchant_id=row["merchant_id"],
            product_id=row["product_id"],
            model=row["model"],
            profile=profile,
            prompt=spec["prompt"],
            negative_prompt=spec["negative_prompt"],
            seed=spec["seed"],
            product_hash=spec["product_hash"],
            image_key=spec["image_key"],
            duration_s=spec["duration_s"],
            output_width=spec["output_width"],
            output_height=spec["output_height"],
            template=spec.get("template", DEFAULT_TEMPLATE),
            ad_format=spec.get("format", DEFAULT_FORMAT),
            locale=spec.get("locale", DEFAULT_LOCALE),
            platforms=tuple(spec.get("platforms", DEFAULT_PLATFORMS)),
            campaign_id=spec.get("campaign_id"),
            extra_image_keys=tuple(spec.get("extra_image_keys", ())),
            request_hash=row["request_hash"],
        )


def plan_render_job(conn: psycopg.Connection, job: RenderJob) -> bool:
    """Record a job; True when it is new, False when the same request was planned before."""
    params = {
        "request_hash": job.request_hash,
        "merchant_id": job.merchant_id,
        "product_id": job.product_id,
        "model": job.model,
        "profile": job.profile.name,
        "spec": Jsonb(job.to_json()),
    }
    return conn.execute(query("plan_render_job"), params).fetchone() is not None


def get_render_jobs(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict[str, Any]]:
    return conn.execute(query("get_render_jobs"), {"request_hashes": request_hashes}).fetchall()


def mark_render_jobs(
    conn: psycopg.Connection,
    request_hashes: list[str],
    status: str,
    error: str | None = None,
    warning: str | None = None,
) -> None:
    """``warning``: what a render that succeeded lacked (its product image); each status
    change replaces the last attempt's."""
    params = {"request_hashes": request_hashes, "status": status, "error": error}
    conn.execute(query("mark_render_jobs"), {**params, "warning": warning})


def count_by_status(conn: psycopg.Connection, request_hashes: list[str]) -> dict[str, int]:
    rows = conn.execute(query("count_render_jobs_by_status"), {"request_hashes": request_hashes})
    return {row["status"]: row["jobs"] for row in rows}


def failed_errors(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict[str, Any]]:
    return conn.execute(
        query("failed_render_errors"), {"request_hashes": request_hashes}
    ).fetchall()


def pending_render_jobs(conn: psycopg.Connection, request_hashes: list[str]) -> list[str]:
    """The jobs among ``request_hashes`` not yet done, in the order given."""
    rows = conn.execute(query("pending_render_jobs"), {"request_hashes": request_hashes})
    pending = {row["request_hash"] for row in rows}
    return [h for h in request_hashes if h in pending]


def record_usage(conn: psycopg.Connection, usage: Mapping[str, Any]) -> None:
    conn.execute(query("record_usage"), dict(usage))


def usage_for_renders(conn: psycopg.Connection, request_hashes: list[str]) -> list[dict]:
    return conn.execute(query("usage_for_renders"), {"request_hashes": request_hashes}).fetchall()
