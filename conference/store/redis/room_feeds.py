"""Cameras hosts put in rooms, in the Redis engine: ``P room_feeds:<room>``, a hash by feed id."""

from __future__ import annotations

import json

from conference.store.redis.engine import RedisAggregate, RedisEngine, dump
from conference.store.room_feeds import RoomFeed


class RedisRoomFeeds(RedisAggregate):
    """:class:`~conference.store.room_feeds.RoomFeedStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)

    def _room_feeds_key(self, room_id: str) -> str:
        return f"{self.prefix}room_feeds:{room_id}"

    async def put_room_feed(self, entry: RoomFeed) -> None:
        """Keep ``entry`` (the same room and feed again: the newer host and time replace it)."""
        record = dump({"added_by": entry.added_by, "added_at": entry.added_at})
        await self._redis.hset(self._room_feeds_key(entry.room_id), entry.feed_id, record)

    async def room_feeds(self, room_id: str) -> list[RoomFeed]:
        """The cameras ``room_id`` should show, by feed id."""
        kept = await self._redis.hgetall(self._room_feeds_key(room_id))
        entries = []
        for feed_id, raw in sorted(kept.items()):
            record = json.loads(raw)
            entries.append(
                RoomFeed(room_id, str(feed_id), record["added_by"], float(record["added_at"]))
            )
        return entries

    async def remove_room_feed(self, room_id: str, feed_id: str) -> None:
        """A host took the camera out of the room; no error if it was not kept."""
        await self._redis.hdel(self._room_feeds_key(room_id), feed_id)

    async def clear_room_feeds(self, room_id: str) -> None:
        """The room ended: it should show no camera any more."""
        await self._redis.delete(self._room_feeds_key(room_id))
