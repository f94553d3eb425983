"""The embedded engine: every aggregate's SQLite half over one file in the data directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from conference.store.sqlite.accounts import SqliteAccounts
from conference.store.sqlite.attempts import SqliteAttempts
from conference.store.sqlite.attendance import SqliteAttendance
from conference.store.sqlite.chat import SqliteChat
from conference.store.sqlite.documents import SqliteDocuments
from conference.store.sqlite.engine import SqliteEngine
from conference.store.sqlite.feeds import SqliteFeeds
from conference.store.sqlite.grants import SqliteGrants
from conference.store.sqlite.meeting_alerts import SqliteMeetingAlerts
from conference.store.sqlite.meetings import SqliteMeetings
from conference.store.sqlite.meta import SqliteMeta
from conference.store.sqlite.room_feeds import SqliteRoomFeeds
from conference.store.sqlite.rooms import SqliteRooms
from conference.store.sqlite.speaking import SqliteSpeaking
from conference.store.sqlite.units import SqliteUnits
from conference.store.sqlite.votes import SqliteVotes

if TYPE_CHECKING:
    from conference.store.base import Store


class SqliteStore(
    SqliteRooms,
    SqliteUnits,
    SqliteAccounts,
    SqliteAttempts,
    SqliteMeetings,
    SqliteGrants,
    SqliteAttendance,
    SqliteDocuments,
    SqliteChat,
    SqliteVotes,
    SqliteSpeaking,
    SqliteMeetingAlerts,
    SqliteFeeds,
    SqliteRoomFeeds,
    SqliteMeta,
):
    """:class:`conference.store.Store` on a SQLite file (made and migrated if need be).

    ``engine`` is the file's connection; other stores of the same file (the
    plate events of :mod:`anpr_feed.events_store`) run on it too.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(SqliteEngine(path))
        self.path = path

    async def close(self) -> None:
        """Close the file."""
        await self.engine.close()


if TYPE_CHECKING:

    def _conforms(store: SqliteStore) -> Store:
        """Makes mypy check that SqliteStore has every method of the protocol."""
        return store
