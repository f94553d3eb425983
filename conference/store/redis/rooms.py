"""Rooms in the Redis engine: ``P rooms``, a hash of room id -> room JSON."""

from __future__ import annotations

import json

from conference.settings import VideoCodec
from conference.store.errors import RoomNotFound, StoreError
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump
from conference.store.rooms import Room, new_room


class RedisRooms(RedisAggregate):
    """:class:`~conference.store.rooms.RoomStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._rooms = engine.key("rooms")

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        """Create and return a room; :class:`StoreError` if ``room_id`` is taken or bad."""
        room = new_room(name, codec, room_id)
        # SQLite refuses other codecs with a CHECK constraint.
        if codec not in ("vp8", "h264"):
            raise StoreError(f"unknown video codec {codec!r}: use 'vp8' or 'h264'")
        record = {
            "id": room.id,
            "name": room.name,
            "codec": room.codec,
            "created_at": room.created_at,
        }
        if not await self._redis.hsetnx(self._rooms, room.id, dump(record)):
            raise StoreError(f"room {room.id!r} already exists")
        return room

    async def get_room(self, room_id: str) -> Room:
        """The room or :class:`RoomNotFound`."""
        raw = await self._redis.hget(self._rooms, room_id)
        if raw is None:
            raise RoomNotFound(f"no room with id {room_id!r}")
        return _room(raw)

    async def list_rooms(self) -> list[Room]:
        """All rooms, oldest first (there are few: one hash read)."""
        rooms = [_room(raw) for raw in await self._redis.hvals(self._rooms)]
        return sorted(rooms, key=lambda room: (room.created_at, room.id))

    async def delete_room(self, room_id: str) -> None:
        """Delete a room or raise :class:`RoomNotFound`."""
        if not await self._redis.hdel(self._rooms, room_id):
            raise RoomNotFound(f"no room with id {room_id!r}")


def _room(raw: Raw) -> Room:
    record = json.loads(raw)
    return Room(record["id"], record["name"], record["codec"], float(record["created_at"]))
