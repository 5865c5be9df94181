"""The one settings object: every ``ADREEL_*`` environment variable, read in one place."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ADREEL_", extra="ignore")

    home: Path = Field(
        Path(".adreel"),
        description="Local state: embedded database, objects, models, Prefect's home.",
    )
    database_url: str | None = Field(
        None, description="PostgreSQL URL; unset: embedded PostgreSQL under $ADREEL_HOME/pg."
    )
    embedded_idle_s: float = Field(
        900,
        ge=0,
        description="The embedded PostgreSQL stops after this long without a client; the "
        "next command starts it again (`adreel db stop` stops it now).",
    )
    api_rate_per_s: float = Field(
        20.0,
        ge=0,
        description="Requests a second each API key may make, across every `adreel api` "
        "process sharing ADREEL_API_RATE_URL (else per process; 0: no limit); bursts up to "
        "ADREEL_API_RATE_BURST.",
    )
    api_rate_burst: int = Field(40, ge=1, description="Requests an API key may make at once.")
    api_rate_url: str | None = Field(
        None,
        description="Redis that keeps the per-key rate limit, shared by every `adreel api` "
        "process; unset: ADREEL_BROKER_URL if it is redis://, else a limit per process.",
    )
    db_pool_size: int = Field(4, ge=1, description="Largest number of pooled connections.")
    s3_bucket: str | None = Field(
        None, description="S3 bucket for assets; unset: the local directory $ADREEL_HOME/objects."
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, moto); unset: AWS."
    )
    s3_prefix: str = Field("adreel", description="Key prefix for every object adreel writes.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_path_style: bool = Field(
        False, description="Path-style addressing (MinIO and most self-hosted stores)."
    )
    broker_url: str | None = Field(
        None, description="Celery broker (redis://, amqp://); unset: render in-process."
    )
    model: str = Field(
        "builtin:motion",
        description="Clip model: builtin:motion (CPU, no weights), a local diffusers "
        "directory or a hub id (GPU), or builtin:tiny (tests).",
    )
    device: str = Field("auto", description="Torch device: auto, cpu, cuda, cuda:N.")
    render_queue: str | None = Field(
        None,
        description="Celery queue for render batches; unset: one per model, "
        "render.<model> (e.g. render.builtin-tiny).",
    )
    render_batch_size: int = Field(4, ge=1, description="Render requests per pipeline call.")
    qa_skip: str = Field(
        "",
        description="Visual checks recorded as skipped, not failed (comma-separated, e.g. "
        "noise: the test suite renders with builtin:tiny, whose clips are noise by design).",
    )
    batch_max_wait_ms: int = Field(
        2000,
        ge=0,
        description="A worker waits at most this long for more render requests to fill a "
        "batch before it starts rendering.",
    )
    torch_compile: bool = Field(
        False, description="Compile the model's transformer with torch.compile (CUDA only)."
    )
    render_soft_time_limit_s: int = Field(
        1500, ge=10, description="A worker stops a render batch after this long (hard: +120 s)."
    )
    broker_visibility_timeout_s: int = Field(
        3600,
        ge=1,
        description="Redis broker: a batch whose worker died is redelivered after "
        "this long (keep it above the render time limit).",
    )
    render_timeout_s: int = Field(
        1800, ge=1, description="How long a run waits for Celery workers to finish renders."
    )
    api_max_upload_mb: int = Field(
        100, ge=1, description="Largest catalog file the HTTP API accepts, in MB."
    )
    api_webhook_delivery: bool = Field(
        True,
        description="Whether `adreel api` also delivers webhooks (a thread per process); "
        "off: run `adreel webhooks deliver` instead.",
    )
    console_secret: str | None = Field(
        None,
        description="Signs the web console's session cookies; unset: one is generated "
        "and kept in ADREEL_HOME/console_secret (set it when several `adreel api` "
        "processes share a load balancer).",
    )
    webhook_poll_s: float = Field(
        1.0, gt=0, description="How often the webhook worker looks for due deliveries."
    )

    @property
    def object_dir(self) -> Path:
        return self.home / "objects"

    @property
    def embedded_pgdata(self) -> Path:
        return self.home / "pg"


def get_settings() -> Settings:
    """Read the environment now (tests and the CLI change it between calls)."""
    return Settings()
