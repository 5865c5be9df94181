"""Keep the store and the asset rows consistent: ``adreel assets sweep``.

Objects are written before their rows, so a crash in between leaves an object without a
row. The sweep removes such orphans once they are older than a grace period (a write
still in flight is younger), and marks rows whose object has gone missing, never
deleting them: they are billing history. It is a dry run unless asked to apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from generation.queries import query
from storage.objects import ObjectStore
from storage.services import Services


@dataclass
class SweepReport:
    orphans: list[str] = field(default_factory=list)
    missing_asset_ids: list[int] = field(default_factory=list)
    applied: bool = False


def sweep(
    conn: psycopg.Connection, store: ObjectStore, prefix: str, grace: timedelta, apply: bool
) -> SweepReport:
    scope = f"{prefix}/merchants/"
    referenced = {
        row["key"] for row in conn.execute(query("referenced_object_keys"), {"prefix": scope})
    }
    listed_at = datetime.now(UTC)
    cutoff = listed_at - grace
    present = set()
    report = SweepReport(applied=apply)
    for item in store.list(scope):
        present.add(item.key)
        if item.key not in referenced and item.modified_at < cutoff:
            report.orphans.append(item.key)
    rows = conn.execute(
        query("assets_under_prefix"), {"prefix": scope, "listed_at": listed_at}
    ).fetchall()
    report.missing_asset_ids = [r["asset_id"] for r in rows if r["object_key"] not in present]
    if apply:
        for key in report.orphans:
            store.delete(key)
        if report.missing_asset_ids:
            conn.execute(query("mark_assets_missing"), {"asset_ids": report.missing_asset_ids})
    return report


def sweep_store(services: Services, grace: timedelta, apply: bool) -> SweepReport:
    """Sweep the configured store under the configured prefix (``adreel assets sweep``)."""
    with services.db.connection() as conn:
        return sweep(conn, services.store, services.settings.s3_prefix, grace, apply)
