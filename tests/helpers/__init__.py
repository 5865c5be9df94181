"""Helpers shared by test files: plain functions and constants, no fixtures.

Fixtures (the real services: PostgreSQL, S3, Redis and a worker) live in
``tests/conftest.py``; builders and readers that several test files use live here, one
module per subject: ``cli`` (running ``adreel``), ``services`` (the test services'
names and databases), ``campaigns``, ``catalog``, ``finance``, ``ledger``, ``media``,
``proxy``, ``worker`` and ``generation``.
"""
