"""The watch list and outbreak provinces in the SQLite engine (tables ``watchlist``, ``outbreaks``)."""

from __future__ import annotations

from anpr_feed.events_store.records import Outbreak, WatchEntry
from conference.store.sqlite import SqliteAggregate


class SqliteWatchList(SqliteAggregate):
    """:class:`~anpr_feed.events_store.protocols.WatchListStore` on SQLite."""

    async def add_watch(self, entry: WatchEntry) -> None:
        await self._insert_unique(
            "watchlist", _WATCH_COLUMNS, entry, f"{entry.pattern!r} is already on the watch list"
        )

    async def list_watch(self) -> list[WatchEntry]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_WATCH_COLUMNS} FROM watchlist ORDER BY pattern"
            ).fetchall()
        )
        return [WatchEntry(*r) for r in rows]

    async def delete_watch(self, entry_id: str) -> None:
        await self._delete_by_id("watchlist", entry_id, f"no watch-list entry {entry_id!r}")


class SqliteOutbreaks(SqliteAggregate):
    """:class:`~anpr_feed.events_store.protocols.OutbreakStore` on SQLite."""

    async def add_outbreak(self, outbreak: Outbreak) -> None:
        await self._insert_unique(
            "outbreaks",
            _OUTBREAK_COLUMNS,
            outbreak,
            f"outbreak marking {outbreak.id!r} already exists",
        )

    async def list_outbreaks(self) -> list[Outbreak]:
        rows = await self._run(
            lambda conn: conn.execute(
                f"SELECT {_OUTBREAK_COLUMNS} FROM outbreaks ORDER BY start, province_code"
            ).fetchall()
        )
        return [Outbreak(*r) for r in rows]

    async def delete_outbreak(self, outbreak_id: str) -> None:
        await self._delete_by_id("outbreaks", outbreak_id, f"no outbreak marking {outbreak_id!r}")


# The columns of the two tables, in the order of their records' fields.
_WATCH_COLUMNS = "id, pattern, reason, created_by, created_at, unit_code"


_OUTBREAK_COLUMNS = 'id, province_code, start, "end", reason, created_by, created_at, unit_code'
