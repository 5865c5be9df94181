"""``adreel keys``: API keys for the HTTP API (``adreel api``), for admins."""

from __future__ import annotations

import click

from flows.cli.output import emit_json, emit_table, status
from storage.keys import ROLES, create_key, list_keys, revoke_key
from storage.services import services


@click.group("keys")
def keys_group() -> None:
    """API keys: merchant keys reach one merchant; staff keys (account_manager, finance,
    admin) reach every merchant within their role."""


@keys_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the key may do.")
@click.option("--merchant", help="The merchant a merchant key belongs to.")
@click.option("--name", help="Who or what uses the key (shown by `keys list`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def create_command(role: str, merchant: str | None, name: str | None, as_json: bool) -> None:
    """Create a key and print it once: only its SHA-256 hash is stored."""
    created = create_key(services().db, role, merchant, name)
    if as_json:
        emit_json({"key": created["key"], "id": created["id"]})
        return
    click.echo(created["key"])
    status(f"key {created['id']} ({role}{' of ' + merchant if merchant else ''}); shown once")


@keys_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def list_command(as_json: bool) -> None:
    """Every key, newest first: prefix, role, merchant, name, created, revoked, last use."""
    found = list_keys(services().db)
    if as_json:
        emit_json({"keys": found})
        return
    emit_table(
        "API keys",
        ["id", "prefix", "role", "merchant", "name", "created", "revoked", "last used"],
        [
            (
                k["id"],
                k["prefix"],
                k["role"],
                k["merchant_id"],
                k["name"],
                k["created_at"].isoformat(timespec="seconds"),
                k["revoked_at"].isoformat(timespec="seconds") if k["revoked_at"] else "",
                k["last_used_at"].isoformat(timespec="seconds") if k["last_used_at"] else "",
            )
            for k in found
        ],
    )


@keys_group.command("revoke")
@click.argument("key_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def revoke_command(key_id: int, as_json: bool) -> None:
    """Revoke a key: refused from its next request on."""
    revoked = revoke_key(services().db, key_id)
    if as_json:
        emit_json(revoked)
    else:
        status(f"key {key_id} ({revoked['prefix']}…) revoked")


def register(cli: click.Group) -> None:
    cli.add_command(keys_group)
