"""Persistence: PostgreSQL (pool, migrations, repositories), embedded PostgreSQL, object stores.

The one settings object lives here too: ``storage`` is the base layer every other
package may import, so configuration read once here is visible to all of them.
"""
