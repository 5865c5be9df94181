"""``adreel api``: serve the HTTP API (``api/``) with uvicorn.

The app is named by its import path, so flows/ never imports api/ (ARCHITECTURE.md).
"""

from __future__ import annotations

import os

import click

from flows.cli.output import status
from storage.services import services

APP_FACTORY = "api.app:create_app"
API_DB_POOL_SIZE = 16


@click.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes; the API is stateless, so any number behind a load balancer also works.",
)
def api_command(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API: OpenAPI at /openapi.json, docs at /docs, GET /healthz.

    Keys: `adreel keys create`. ADREEL_API_MAX_UPLOAD_MB caps catalog uploads.
    """
    import uvicorn  # only here: `adreel --help` stays light

    # Requests run in a pool of threads; give them connections to match, unless the
    # operator chose (each process holds up to this many).
    os.environ.setdefault("ADREEL_DB_POOL_SIZE", str(API_DB_POOL_SIZE))
    services()  # fail in one line now (database, migrations) rather than per request
    status(f"adreel API on http://{host}:{port} ({workers} worker(s)); docs at /docs")
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
    )


def register(cli: click.Group) -> None:
    cli.add_command(api_command)
