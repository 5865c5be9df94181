"""This package's named SQL (`composer/sql/*.sql`); nothing outside composer/ runs it."""

from storage.queries import Queries

query = Queries(__package__)
