"""Rooms in the SQLite engine (table ``rooms``)."""

from __future__ import annotations

import sqlite3

from conference.settings import VideoCodec
from conference.store.errors import RoomNotFound, StoreError
from conference.store.rooms import Room, new_room
from conference.store.sqlite.engine import SqliteAggregate


class SqliteRooms(SqliteAggregate):
    """:class:`~conference.store.rooms.RoomStore` on SQLite."""

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        room = new_room(name, codec, room_id)

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO rooms (id, name, codec, created_at) VALUES (?, ?, ?, ?)",
                    (room.id, room.name, room.codec, room.created_at),
                )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"room {room.id!r} already exists") from exc

        await self._run(insert)
        return room

    async def get_room(self, room_id: str) -> Room:
        def select(conn: sqlite3.Connection) -> tuple | None:
            return conn.execute(
                "SELECT id, name, codec, created_at FROM rooms WHERE id = ?", (room_id,)
            ).fetchone()

        row = await self._run(select)
        if row is None:
            raise RoomNotFound(f"no room with id {room_id!r}")
        return Room(*row)

    async def list_rooms(self) -> list[Room]:
        rows = await self._run(
            lambda conn: conn.execute(
                "SELECT id, name, codec, created_at FROM rooms ORDER BY created_at"
            ).fetchall()
        )
        return [Room(*row) for row in rows]

    async def delete_room(self, room_id: str) -> None:
        deleted = await self._run(
            lambda conn: conn.execute("DELETE FROM rooms WHERE id = ?", (room_id,)).rowcount
        )
        if not deleted:
            raise RoomNotFound(f"no room with id {room_id!r}")
