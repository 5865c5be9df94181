"""This package's named SQL (`billing/sql/*.sql`); nothing outside billing/ runs it."""

from storage.queries import Queries

query = Queries(__package__)
