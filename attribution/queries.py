"""This package's named SQL (`attribution/sql/*.sql`); nothing outside attribution/ runs it."""

from storage.queries import Queries

query = Queries(__package__)
