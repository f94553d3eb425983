"""Cameras hosts put in rooms, in the SQLite engine (table ``room_feeds``)."""

from __future__ import annotations

from conference.store.room_feeds import RoomFeed
from conference.store.sqlite.engine import SqliteAggregate


class SqliteRoomFeeds(SqliteAggregate):
    """:class:`~conference.store.room_feeds.RoomFeedStore` on SQLite."""

    async def put_room_feed(self, entry: RoomFeed) -> None:
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO room_feeds (room_id, feed_id, added_by, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(room_id, feed_id) DO UPDATE SET "
                "added_by = excluded.added_by, added_at = excluded.added_at",
                (entry.room_id, entry.feed_id, entry.added_by, entry.added_at),
            )
        )

    async def room_feeds(self, room_id: str) -> list[RoomFeed]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT room_id, feed_id, added_by, added_at FROM room_feeds WHERE room_id = ? "
                "ORDER BY feed_id",
                (room_id,),
            ).fetchall()
        )
        return [RoomFeed(*r) for r in rows]

    async def remove_room_feed(self, room_id: str, feed_id: str) -> None:
        await self._run(
            lambda conn: conn.execute(
                "DELETE FROM room_feeds WHERE room_id = ? AND feed_id = ?", (room_id, feed_id)
            )
        )

    async def clear_room_feeds(self, room_id: str) -> None:
        await self._run(
            lambda conn: conn.execute("DELETE FROM room_feeds WHERE room_id = ?", (room_id,))
        )
