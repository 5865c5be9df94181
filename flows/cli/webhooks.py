"""``adreel webhooks deliver``: send due webhook deliveries (see storage/webhooks.py).

``adreel api`` runs the same loop in a thread unless ADREEL_API_WEBHOOK_DELIVERY is off.
"""

from __future__ import annotations

import threading

import click

from flows.cli.output import emit_json, status
from storage.services import services
from storage.settings import get_settings
from storage.webhooks import deliver_due, delivery_loop


@click.group("webhooks")
def webhooks_group() -> None:
    """Webhook deliveries: signed, retried with backoff from the outbox."""


@webhooks_group.command("deliver")
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with --once).")
def deliver_command(once: bool, as_json: bool) -> None:
    """Send due deliveries; without --once, keep doing so (ADREEL_WEBHOOK_POLL_S)."""
    if once:
        sent = deliver_due(services().db)
        if as_json:
            emit_json(sent)
        else:
            status(f"{sent['delivered']} delivered, {sent['failed']} failed (retried later)")
        return
    status("delivering webhooks; Ctrl-C stops")
    try:
        delivery_loop(services().db, threading.Event(), get_settings().webhook_poll_s)
    except KeyboardInterrupt:
        status("stopped")


def register(cli: click.Group) -> None:
    cli.add_command(webhooks_group)
