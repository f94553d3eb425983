"""Checkpoint cameras in the Redis engine: ``P feeds``, a hash of feed id -> feed JSON."""

from __future__ import annotations

import dataclasses
import json

from conference.store.errors import Conflict, NotFound
from conference.store.feeds import Feed, FeedLimits
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump

# create_feed with limits: ARGV = id, JSON, total limit, unit ('' for none),
# unit limit. Returns {1 (added), 0 (id taken) or -1 (a limit), feeds, feeds of
# the unit}; the rule is FeedLimits.refusal's. Feeds are few: reading them all is cheap.
_CREATE_FEED_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return {0, 0, 0} end
local total, in_unit, unit = redis.call('HLEN', KEYS[1]), 0, ARGV[4]
if unit ~= '' then
    for _, raw in ipairs(redis.call('HVALS', KEYS[1])) do
        if cjson.decode(raw)['unit_code'] == unit then in_unit = in_unit + 1 end
    end
end
if total >= tonumber(ARGV[3]) or (unit ~= '' and in_unit >= tonumber(ARGV[5])) then
    return {-1, total, in_unit}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, total + 1, in_unit}
"""


class RedisFeeds(RedisAggregate):
    """:class:`~conference.store.feeds.FeedStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._feeds = engine.key("feeds")
        self._create_feed_script = self._redis.register_script(_CREATE_FEED_LUA)

    async def create_feed(self, feed: Feed, limits: FeedLimits | None = None) -> None:
        """Register a camera; :class:`Conflict` if the id is taken.

        With ``limits``, one script counts the feeds (in all, and of the
        feed's unit) and adds it, so that two nodes cannot both take the
        last place: :class:`FeedLimitReached` if it would pass a limit.
        """
        if limits is None:
            if not await self._redis.hsetnx(self._feeds, feed.id, dump(dataclasses.asdict(feed))):
                raise Conflict(f"feed {feed.id!r} already exists")
            return
        added, total, in_unit = await self._create_feed_script(
            keys=[self._feeds],
            args=[
                feed.id,
                dump(dataclasses.asdict(feed)),
                limits.total,
                feed.unit_code or "",
                limits.per_unit,
            ],
        )
        if int(added) == 0:
            raise Conflict(f"feed {feed.id!r} already exists")
        if int(added) < 0:
            refusal = limits.refusal(feed, int(total), int(in_unit))
            assert refusal is not None  # the script applies the same rule
            raise refusal

    async def get_feed(self, feed_id: str) -> Feed:
        """The feed or :class:`NotFound`."""
        raw = await self._redis.hget(self._feeds, feed_id)
        if raw is None:
            raise NotFound(f"no feed {feed_id!r}")
        return _feed(raw)

    async def list_feeds(self) -> list[Feed]:
        """Every feed, by checkpoint, then name, then id (there are few: one hash read)."""
        feeds = [_feed(raw) for raw in await self._redis.hvals(self._feeds)]
        return sorted(feeds, key=lambda feed: (feed.checkpoint, feed.name, feed.id))

    async def delete_feed(self, feed_id: str) -> None:
        """Remove a feed (its events stay); :class:`NotFound` if unknown."""
        await self.engine.hdel_or_missing(self._feeds, feed_id, f"no feed {feed_id!r}")


def _feed(raw: Raw) -> Feed:
    record = json.loads(raw)
    return Feed(
        id=record["id"],
        name=record["name"],
        checkpoint=record["checkpoint"],
        location=record["location"],
        url=record["url"],
        unit_code=record["unit_code"],
        created_at=float(record["created_at"]),
        created_by=record["created_by"],
        passthrough=bool(record["passthrough"]),
    )
