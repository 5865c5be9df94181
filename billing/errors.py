"""Billing and ledger errors, each a one-line message a person can act on."""

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
