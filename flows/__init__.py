"""Prefect flows and the ``adreel`` CLI: the one place that wires the other packages together."""
