"""The embedded engine: SQLite in the data directory, with migrations.

One module per aggregate (``rooms``, ``units``, ``accounts``, ``attempts``,
``meetings``, ``grants``, ``attendance``, ``feeds``, ``meta``), each a half of
:class:`SqliteStore` over the one connection of :mod:`.engine`; the schema and
its versions are in :mod:`.migrations`.
"""

from __future__ import annotations

from conference.store.sqlite.engine import SqliteAggregate, SqliteEngine
from conference.store.sqlite.migrations import MIGRATIONS, migrate
from conference.store.sqlite.store import SqliteStore

__all__ = ["MIGRATIONS", "SqliteAggregate", "SqliteEngine", "SqliteStore", "migrate"]
