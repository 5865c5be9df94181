"""Interactions, orders, attribution, contracts, the double-entry ledger and statements."""
