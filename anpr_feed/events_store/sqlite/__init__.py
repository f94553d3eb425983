"""The embedded engine of the plate store: tables of the conference store's SQLite file.

It runs on that store's connection (:class:`conference.store.sqlite.SqliteEngine`);
the tables and their versions are the conference store's migrations.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anpr_feed.events_store.sqlite.declarations import SqliteDeclarations
from anpr_feed.events_store.sqlite.events import SqlitePlateEvents
from anpr_feed.events_store.sqlite.lists import SqliteOutbreaks, SqliteWatchList

if TYPE_CHECKING:
    from anpr_feed.events_store.protocols import PlateStore

__all__ = ["SqlitePlateStore"]


class SqlitePlateStore(SqlitePlateEvents, SqliteWatchList, SqliteOutbreaks, SqliteDeclarations):
    """:class:`~anpr_feed.events_store.protocols.PlateStore` on a conference store's SQLite engine."""


if TYPE_CHECKING:

    def _conforms(store: SqlitePlateStore) -> PlateStore:
        """Makes mypy check that SqlitePlateStore has every method of the protocol."""
        return store
