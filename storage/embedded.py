"""Embedded PostgreSQL (the pgserver wheel) for a machine with no database configured.

The data directory survives between runs, and so does the server: starting PostgreSQL
takes seconds, so it keeps running after a command ends and the next one joins it at
once. A small watcher process (``python -m storage.embedded``) stops it once no client
has been connected for ``ADREEL_EMBEDDED_IDLE_S`` seconds; ``adreel db stop`` stops it
now. A CLI run, a worker and the API all share the one server.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from storage.errors import ConfigError

log = logging.getLogger(__name__)
_servers: dict[Path, object] = {}
POLL_S = 5.0
_IDLE_CLIENTS = """SELECT count(*) FROM pg_stat_activity
                   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"""


def embedded_database_url(pgdata: Path, idle_s: float) -> str:
    """Start (or join) the embedded server for ``pgdata`` and return its URL; make sure
    a watcher will stop it after ``idle_s`` seconds without clients."""
    pgdata = pgdata.resolve()
    server = _servers.get(pgdata)
    if server is None:
        server = _start(pgdata)
        _servers[pgdata] = server
        _ensure_watcher(pgdata, idle_s)
    return server.get_uri()


def _start(pgdata: Path):
    import pgserver

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting (or joining) embedded PostgreSQL in %s", pgdata)
    try:
        return pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # pgserver raises plain exceptions with initdb output
        raise ConfigError(
            "ADREEL_HOME", f"cannot start embedded PostgreSQL in {pgdata}: {exc}"
        ) from exc


def _watcher_pidfile(pgdata: Path) -> Path:
    return pgdata.parent / "pg-watcher.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _ensure_watcher(pgdata: Path, idle_s: float) -> None:
    pidfile = _watcher_pidfile(pgdata)
    try:
        if _alive(int(pidfile.read_text())):
            return
    except (OSError, ValueError):
        pass
    with open(pgdata.parent / "pg-watcher.log", "ab") as log_file:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "storage.embedded", str(pgdata), str(idle_s)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            start_new_session=True,  # outlives the command that started it
        )
    pidfile.write_text(str(watcher.pid))


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server now; False if it was not running."""
    import pgserver.postgres_server as pg

    pgdata = pgdata.resolve()
    info = pg.PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    user = "pgserver" if os.geteuid() == 0 else None  # pgserver runs as it when root
    pg.pg_ctl(["-w", "stop"], pgdata=pgdata, user=user)
    return True


def watch(pgdata: Path, idle_s: float) -> None:
    """Stop the server after ``idle_s`` seconds in a row without a client connected."""
    import pgserver.postgres_server as pg
    import psycopg

    idle_since = time.monotonic()
    while True:
        time.sleep(POLL_S)
        info = pg.PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            return  # stopped by someone else
        try:
            with psycopg.connect(info.get_uri(), connect_timeout=5) as conn:
                clients = conn.execute(_IDLE_CLIENTS).fetchone()[0]
        except psycopg.Error:
            continue  # starting or stopping: look again
        if clients:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= idle_s:
            stop_embedded(pgdata)
            return


if __name__ == "__main__":
    directory, idle = Path(sys.argv[1]), float(sys.argv[2])
    try:
        watch(directory, idle)
    finally:
        _watcher_pidfile(directory).unlink(missing_ok=True)
