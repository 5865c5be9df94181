"""What the CLI and flows check and set up before they call into the domain packages."""

from __future__ import annotations

import os

from storage.errors import ConfigError
from storage.services import Services, services
from storage.settings import Settings


def preflight(settings: Settings, load_model: bool = False) -> Services:
    """Check every configured part answers, so a bad setting fails in one line up front.

    ``load_model``: load the pipeline itself (a worker keeps it for every batch), so a
    model directory with missing files fails here rather than on the first batch.
    """
    from generation.dispatch import check_broker
    from generation.tiers import check_models

    opened = services()
    opened.store  # noqa: B018 (opening it checks the bucket or directory)
    # the configured model and any its profiles name (builtin:motion imports no torch)
    check_models(settings.model, settings.home, settings.device, load=load_model)
    if settings.broker_url:
        check_broker(settings.broker_url)
    return opened


def health(opened: Services) -> dict[str, str]:
    """Whether the database, the object store and the broker answer now: ``"ok"``,
    ``"not configured"`` (no broker: renders run in-process) or the reason."""
    from generation.dispatch import check_broker

    checks = {
        "database": opened.db.ping,
        "store": lambda: opened.store.check(),
        "broker": lambda: check_broker(opened.settings.broker_url),
    }
    found = {}
    for part, check in checks.items():
        if part == "broker" and not opened.settings.broker_url:
            found[part] = "not configured"
            continue
        try:
            check()
            found[part] = "ok"
        except Exception as exc:  # a health check reports any fault, it never raises
            found[part] = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
    return found


def configure_prefect(settings: Settings) -> None:
    """Keep Prefect's local state under $ADREEL_HOME unless the user set it up already.

    Must run before ``prefect`` is imported: Prefect reads its settings at import.
    """
    os.environ.setdefault("PREFECT_HOME", str((settings.home / "prefect").resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # Prefect's temporary server imports its whole API before it answers: 20 s (Prefect's
    # default) is not enough on a busy laptop, and a slow start is not a failure.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def prefect_failure(exc: Exception) -> ConfigError | None:
    """Prefect's temporary server did not come up: one line naming the setting to fix."""
    if isinstance(exc, RuntimeError) and "ephemeral Prefect API server" in str(exc):
        return ConfigError(
            "PREFECT_API_URL",
            "Prefect's temporary server did not start in time; start one with "
            "`prefect server start` and set PREFECT_API_URL to it, or run the command again",
        )
    return None
