"""Attribution's one place for database errors (after procrastinate's ``wrap_exceptions``).

A finance file's rows are validated in staging before they are inserted; should a table
constraint still refuse one, the file is refused as bad input (``FileError``). Ledger
refusals become billing's errors; anything else, connection errors included, passes
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from billing.errors import wrap_exceptions as wrap_billing_exceptions
from billing.feeds import FileError

# Tables that hold what finance files bring in.
_IMPORTED_TABLES = frozenset({"interactions", "order_lines", "refunds", "fx_rates"})


@contextmanager
def wrap_exceptions(source: str) -> Iterator[None]:
    """``source`` names the file (or the merchant's close) in the one-line message."""
    try:
        with wrap_billing_exceptions():
            yield
    except (psycopg.errors.CheckViolation, psycopg.errors.NotNullViolation) as exc:
        if exc.diag.table_name not in _IMPORTED_TABLES:
            raise
        reason = exc.diag.message_primary or type(exc).__name__
        raise FileError(f"{source}: a row was refused by {exc.diag.table_name}: {reason}") from exc
