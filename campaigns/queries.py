"""This package's named SQL (`campaigns/sql/*.sql`); nothing outside campaigns/ runs it."""

from storage.queries import Queries

query = Queries(__package__)
