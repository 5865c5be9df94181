"""Embedded PostgreSQL (the pgserver wheel) for a machine with no database configured.

The data directory survives between runs. pgserver stops the server when the last
process holding a handle exits, so a CLI run and a worker can share one server.
"""

from __future__ import annotations

import logging
from pathlib import Path

from storage.errors import ConfigError

log = logging.getLogger(__name__)
_servers: dict[Path, object] = {}


def embedded_database_url(pgdata: Path) -> str:
    """Start (or join) the embedded server for ``pgdata`` and return its URL."""
    pgdata = pgdata.resolve()
    server = _servers.get(pgdata)
    if server is None:
        import pgserver

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded PostgreSQL in %s", pgdata)
        try:
            server = pgserver.get_server(pgdata, cleanup_mode="stop")
        except Exception as exc:  # pgserver raises plain exceptions with initdb output
            raise ConfigError(
                "ADREEL_HOME", f"cannot start embedded PostgreSQL in {pgdata}: {exc}"
            ) from exc
        _servers[pgdata] = server
    return server.get_uri()
