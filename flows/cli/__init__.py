"""The ``adreel`` command line: one module per command group.

Data goes to stdout (tables, or one JSON object with ``--json``); progress and
status go to stderr. An ``AdreelError`` ends the command with one line and exit 1.
"""

from __future__ import annotations

import logging
import sys
import warnings

import click

from catalog.errors import CatalogError
from flows.cli import (
    api,
    assets,
    bench,
    brand,
    campaign,
    catalog,
    contract,
    db,
    demo,
    finance,
    keys,
    ledger,
    merchant,
    render,
    serve,
    wallet,
    webhooks,
    worker,
)
from flows.services import prefect_failure
from storage.errors import AdreelError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log what adreel does to stderr.")
def cli(verbose: bool) -> None:
    """adreel: product catalogs in, finished ad videos out, billed three ways.

    Settings come from ADREEL_* environment variables (see the README).
    """
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # Some libraries set their own loggers to INFO; the handler decides what is shown.
    for handler in logging.root.handlers:
        handler.setLevel(level)


for group in (
    db,
    demo,
    worker,
    merchant,
    catalog,
    campaign,
    assets,
    brand,
    contract,
    ledger,
    finance,
    wallet,
    bench,
    serve,
    render,
    keys,
    api,
    webhooks,
):
    group.register(cli)


def main(argv: list[str] | None = None) -> None:
    # pgserver asks platformdirs for a runtime dir that containers often lack; harmless.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    try:
        cli.main(args=argv, prog_name="adreel", standalone_mode=False)
    except (AdreelError, CatalogError) as exc:
        click.echo(f"adreel: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("adreel: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except RuntimeError as exc:
        failure = prefect_failure(exc)
        if failure is None:
            raise
        click.echo(f"adreel: {failure}", err=True)
        sys.exit(1)
