"""Billing and ledger errors, each a one-line message a person can act on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from storage.errors import AdreelError


class LedgerError(AdreelError):
    """A posting or billing event the ledger refuses; nothing was written."""


class IdempotencyConflict(LedgerError):
    """An idempotency key was reused with different content."""


class ClosedPeriodError(LedgerError):
    """A posting dated in a closed period."""


class InsufficientTokens(LedgerError):
    """A wallet cannot cover a render's tokens; ``available`` says what it can."""

    def __init__(self, message: str, available=None) -> None:
        super().__init__(message)
        self.available = available


class ContractError(AdreelError):
    """A contract file or version that cannot be accepted."""


# Constraints whose refusal means something to a person, by the name PostgreSQL reports.
_BALANCED = "ledger_balanced"  # the deferred balance rule of migration 0009
_OPEN_PERIOD = "ledger_open_period"
_REVERSED_ONCE = "ledger_transactions_reversed_once"
_WALLET = ("wallet_never_negative", "holds_within_balance")


@contextmanager
def wrap_exceptions() -> Iterator[None]:
    """Turn database refusals that mean something to a person into billing errors.

    The one place in billing/ that reads psycopg errors (after procrastinate's
    ``wrap_exceptions``); anything else, connection errors included, passes unchanged.
    Usable as ``with wrap_exceptions():`` or as the decorator ``@wrap_exceptions()``.
    """
    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        mapped = _billing_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


def _billing_error(exc: psycopg.errors.IntegrityError) -> AdreelError | None:
    constraint = exc.diag.constraint_name
    message = exc.diag.message_primary or str(exc)
    if constraint == _BALANCED:
        return LedgerError(message)
    if constraint == _OPEN_PERIOD:
        return ClosedPeriodError(message)
    if constraint == _REVERSED_ONCE:
        return LedgerError(f"transaction {_key_value(exc)} was already reversed")
    if constraint in _WALLET:
        return InsufficientTokens(f"the token wallet cannot cover this: {message}")
    return None


def _key_value(exc: psycopg.errors.IntegrityError) -> str:
    """The value in a unique violation's detail: ``Key (col)=(value) already exists.``"""
    found = re.search(r"\)=\((.*)\) already exists", exc.diag.message_detail or "")
    return found[1] if found else "?"
