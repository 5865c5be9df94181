"""This package's named SQL (`catalog/sql/*.sql`); nothing outside catalog/ runs it."""

from storage.queries import Queries

query = Queries(__package__)
