"""Rooms in the Redis engine: ``P rooms``, a hash of room id -> room JSON."""

from __future__ import annotations

import json
import time

from conference.settings import VideoCodec
from conference.store.errors import RoomNotFound, StoreError
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump
from conference.store.rooms import ROOM_ID_PATTERN, Room, new_room_id


class RedisRooms(RedisAggregate):
    """:class:`~conference.store.rooms.RoomStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._rooms = engine.key("rooms")

    async def create_room(self, name: str, codec: VideoCodec, room_id: str | None = None) -> Room:
        """Create and return a room; :class:`StoreError` if ``room_id`` is taken or bad."""
        name = name.strip()
        if not name or len(name) > 120:
            raise StoreError("room name must be 1 to 120 characters")
        if room_id is not None and not ROOM_ID_PATTERN.match(room_id):
            raise StoreError("room id must be 3-64 characters: lower-case letters, digits, '-'")
        # SQLite refuses other codecs with a CHECK constraint.
        if codec not in ("vp8", "h264"):
            raise StoreError(f"unknown video codec {codec!r}: use 'vp8' or 'h264'")
        room = Room(id=room_id or new_room_id(), name=name, codec=codec, created_at=time.time())
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
