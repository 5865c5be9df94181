"""``adreel serve``: run the flows and every campaign schedule on this machine."""

from __future__ import annotations

import click

from flows.cli.output import status
from flows.services import configure_prefect, preflight
from storage.settings import get_settings


@click.command("serve")
@click.option("--list", "list_only", is_flag=True, help="Show the deployments and exit.")
def serve_command(list_only: bool) -> None:
    """Serve ingest_catalog, run_campaign and each scheduled campaign against Prefect's
    API (PREFECT_API_URL; a local one by default). Reschedules need a restart."""
    settings = get_settings()
    configure_prefect(settings)
    opened = preflight(settings)
    from prefect import serve

    from flows.deployments import build_deployments

    deployments = build_deployments(opened.db)
    for deployment in deployments:
        schedules = ", ".join(
            f"{s.schedule.cron} ({s.schedule.timezone})" for s in deployment.schedules or []
        )
        status(f"{deployment.flow_name}/{deployment.name}: {schedules or 'on demand'}")
    if not list_only:
        serve(*deployments, print_starting_message=False)


def register(cli: click.Group) -> None:
    cli.add_command(serve_command)
