"""The watch list and outbreak provinces in the Redis engine (``P watch``, ``P watch_patterns``, ``P outbreaks``)."""

from __future__ import annotations

import dataclasses
import json

from anpr_feed.events_store.records import Outbreak, WatchEntry
from conference.store import Conflict, NotFound
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump

# add_watch: the id and the pattern must both be free; entry and pattern
# index appear together.
_ADD_WATCH_LUA = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

# delete_watch: the entry and its pattern index go together.
_DELETE_WATCH_LUA = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local pattern = cjson.decode(raw)['pattern']
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], pattern) == ARGV[1] then redis.call('HDEL', KEYS[2], pattern) end
return 1
"""


class RedisWatchList(RedisAggregate):
    """:class:`~anpr_feed.events_store.protocols.WatchListStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._watch = engine.key("watch")
        self._watch_patterns = engine.key("watch_patterns")
        self._add_watch_script = self._redis.register_script(_ADD_WATCH_LUA)
        self._delete_watch_script = self._redis.register_script(_DELETE_WATCH_LUA)

    async def add_watch(self, entry: WatchEntry) -> None:
        """Add a watch-list entry; :class:`Conflict` if the pattern (or the id) is taken."""
        if not await self._add_watch_script(
            keys=[self._watch, self._watch_patterns],
            args=[entry.id, entry.pattern, _record_json(entry)],
        ):
            raise Conflict(f"{entry.pattern!r} is already on the watch list")

    async def list_watch(self) -> list[WatchEntry]:
        """The watch list, by pattern."""
        entries = [_watch_entry(raw) for raw in await self._redis.hvals(self._watch)]
        return sorted(entries, key=lambda entry: (entry.pattern, entry.id))

    async def delete_watch(self, entry_id: str) -> None:
        """Remove an entry; :class:`NotFound` if unknown."""
        if not await self._delete_watch_script(
            keys=[self._watch, self._watch_patterns], args=[entry_id]
        ):
            raise NotFound(f"no watch-list entry {entry_id!r}")


class RedisOutbreaks(RedisAggregate):
    """:class:`~anpr_feed.events_store.protocols.OutbreakStore` on Redis."""

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._outbreaks = engine.key("outbreaks")

    async def add_outbreak(self, outbreak: Outbreak) -> None:
        """Mark a province as an outbreak zone; :class:`Conflict` if the id is taken."""
        if not await self._redis.hsetnx(self._outbreaks, outbreak.id, _record_json(outbreak)):
            raise Conflict(f"outbreak marking {outbreak.id!r} already exists")

    async def list_outbreaks(self) -> list[Outbreak]:
        """Every outbreak marking, by start date, then province code."""
        outbreaks = [_outbreak(raw) for raw in await self._redis.hvals(self._outbreaks)]
        return sorted(outbreaks, key=lambda o: (o.start, o.province_code, o.id))

    async def delete_outbreak(self, outbreak_id: str) -> None:
        """Remove a marking; :class:`NotFound` if unknown."""
        await self.engine.hdel_or_missing(
            self._outbreaks, outbreak_id, f"no outbreak marking {outbreak_id!r}"
        )


def _record_json(record: WatchEntry | Outbreak) -> str:
    """A record as JSON, its fields in declaration order."""
    return dump(dataclasses.asdict(record))


def _watch_entry(raw: Raw) -> WatchEntry:
    record = json.loads(raw)
    return WatchEntry(
        id=record["id"],
        pattern=record["pattern"],
        reason=record["reason"],
        created_by=record["created_by"],
        created_at=float(record["created_at"]),
        unit_code=record.get("unit_code"),  # none on entries from before units were kept
    )


def _outbreak(raw: Raw) -> Outbreak:
    record = json.loads(raw)
    return Outbreak(
        id=record["id"],
        province_code=record["province_code"],
        start=record["start"],
        end=record["end"],
        reason=record["reason"],
        created_by=record["created_by"],
        created_at=float(record["created_at"]),
        unit_code=record.get("unit_code"),  # none on entries from before units were kept
    )
