"""Infrastructure every package stands on: settings, the PostgreSQL pool, migrations,
embedded PostgreSQL, object stores, the services bundle and the merchant (tenant) root.

No domain logic: ``storage`` is the base layer every other package may import, so
configuration read once here is visible to all of them.
"""
