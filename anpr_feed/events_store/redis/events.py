"""Plate events in the Redis engine: writing, reading and retention."""

from __future__ import annotations

import math
from collections.abc import Sequence

from anpr_feed.events_store.records import PlateEvent
from anpr_feed.events_store.redis.indexes import EVENT_CHUNK, EventKeys, event_from_json, event_json
from anpr_feed.events_store.redis.search import RedisPlateSearch
from conference.store import Conflict, NotFound, StoreError
from conference.store.redis.engine import below, text


class RedisPlateEvents(RedisPlateSearch):
    """:class:`~anpr_feed.events_store.protocols.PlateEventStore` on Redis."""

    async def add_plate_events(self, events: Sequence[PlateEvent]) -> None:
        """Store vehicle passes, all or none: :class:`Conflict` if an id is taken.

        One Lua script checks every id, then writes the events and their
        index entries, so a concurrent writer never sees half a batch and
        two writers of a plate's first events agree which one was first.
        The whole batch is one script: callers with very many events (an
        import) pass them a few thousand at a time.
        """
        batch = list(events)
        if not batch:
            return
        await self._events_ready()
        seen: set[str] = set()
        for event in batch:
            if event.id in seen:
                raise Conflict(f"plate event {event.id!r} is given twice")
            seen.add(event.id)
            # SQLite refuses NaN too (stored as NULL in a NOT NULL column).
            if math.isnan(event.at) or math.isnan(event.confidence):
                raise StoreError(f"plate event {event.id!r} has no valid time or confidence")
        keys = EventKeys(self)
        described: list[str | int] = []
        for event in batch:
            described += [event.id, repr(float(event.at)), event_json(event)]
            described += keys.event(event)
        args = keys.args(batch, described)  # before keys.keys: it adds the plates' keys
        taken = await self._add_events_script(keys=keys.keys, args=args)
        if taken is not None:
            raise Conflict(f"plate event {text(taken)!r} is already stored")

    async def get_plate_event(self, event_id: str) -> PlateEvent:
        """One pass or :class:`NotFound`."""
        await self._events_ready()
        raw = await self._redis.hget(self._plate_events, event_id)
        if raw is None:
            raise NotFound(f"no plate event {event_id!r}")
        return event_from_json(raw)

    async def delete_plate_events_before(self, before: float) -> list[PlateEvent]:
        """Remove passes with ``at < before`` (retention); returns them, oldest first.

        A chunk at a time: the oldest ids of the time index and their
        events are read, then a script deletes those events that are still
        the same (another node's retention may have been first), with every
        index entry, and the search indexes of plates left without events.
        Each chunk is atomic, the whole run is not (as a search sees it).
        """
        if math.isnan(before):
            return []
        await self._events_ready()
        deleted: list[PlateEvent] = []
        while True:
            ids = [
                text(event_id)
                for event_id in await self._redis.zrangebyscore(
                    self._events_by_at, "-inf", below(before), start=0, num=EVENT_CHUNK
                )
            ]
            if not ids:
                return deleted
            raws = await self.engine.hmget(self._plate_events, ids)
            keys = EventKeys(self)
            described: list[str | int] = []
            for event_id, raw in zip(ids, raws, strict=True):
                if raw is None:
                    described += [event_id, "", 0, 0, 0, 0]
                else:
                    described += [event_id, raw, *keys.event(event_from_json(raw))]
            args = keys.args(ids, described)  # before keys.keys: it adds the plates' keys
            gone = await self._delete_events_script(keys=keys.keys, args=args)
            deleted.extend(event_from_json(raw) for raw in gone)

    async def count_plate_events(self) -> int:
        """How many passes are stored."""
        await self._events_ready()
        return int(await self._redis.hlen(self._plate_events))
