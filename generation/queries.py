"""This package's named SQL (`generation/sql/*.sql`); nothing outside generation/ runs it."""

from storage.queries import Queries

query = Queries(__package__)
