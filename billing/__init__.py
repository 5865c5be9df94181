"""Billing: contracts, the double-entry ledger, token wallets, RaaS charges, periods and
their close, statements, reconciliation, contributor payouts and ledger verification."""
