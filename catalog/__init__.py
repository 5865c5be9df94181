"""Catalog feeds: parsing into the canonical product model, and validation."""
