"""The keys of the Redis plate-event store, the events' JSON, and the upgrade that gives
old events their unit (see the key layout in :mod:`anpr_feed.events_store.redis`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import string
import time
from collections.abc import Sequence
from typing import Any

from anpr_feed.events_store.records import PlateEvent
from anpr_feed.events_store.redis.scripts import (
    ADD_EVENTS_LUA,
    DELETE_EVENTS_LUA,
    EVENT_UNITS_LUA,
    MERGE_EVENTS_LUA,
    WALK_EVENTS_LUA,
)
from conference.store import FeedStore
from conference.store.redis.engine import Raw, RedisAggregate, RedisEngine, dump, text

_EVENT_UNITS_DONE = "schema:plate-event-units"  # in P meta once every event has its unit

# Plate events written or deleted per script call; each is a few dozen
# commands on the server, so a chunk holds it for some milliseconds at most.
EVENT_CHUNK = 500

_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


class RedisEventIndexes(RedisAggregate):
    """The plate-event keys of one Redis store, and its once-per-database upgrade."""

    feeds: FeedStore  # the cameras, whose units old events take (see _events_ready)

    def __init__(self, engine: RedisEngine) -> None:
        super().__init__(engine)
        self._plate_events = engine.key("plate_events")
        self._events_by_at = engine.key("plate_events_by_at")
        self._plates = engine.key("plates")
        self._short_plates = engine.key("short_plates")
        self._plate_grams = engine.key("plate_grams")
        self._add_events_script = self._redis.register_script(ADD_EVENTS_LUA)
        self._delete_events_script = self._redis.register_script(DELETE_EVENTS_LUA)
        self._walk_events_script = self._redis.register_script(WALK_EVENTS_LUA)
        self._merge_events_script = self._redis.register_script(MERGE_EVENTS_LUA)
        self._event_units_script = self._redis.register_script(EVENT_UNITS_LUA)
        self._events_migrated = False
        self._events_migrating = asyncio.Lock()

    def _checkpoint_events_key(self, checkpoint: str) -> str:
        return f"{self.prefix}checkpoint_events:{checkpoint}"

    def _feed_events_key(self, feed_id: str) -> str:
        return f"{self.prefix}feed_events:{feed_id}"

    def _unit_events_key(self, unit_code: str) -> str:
        return f"{self.prefix}unit_events:{unit_code}"

    def _plate_events_key(self, plate: str) -> str:
        return f"{self.prefix}plate_events_of:{plate}"

    def _trigram_key(self, trigram: str) -> str:
        return f"{self.prefix}plate_trigram:{trigram}"

    async def _events_ready(self) -> None:
        """Give the events stored before units were kept theirs, once per database.

        An event takes the unit of its camera if the camera is still
        registered, and none (administrators only) if it is gone. Every node
        runs this before its first plate-event call; a second one finds the
        marker, or repeats the same idempotent rewrite.
        """
        if self._events_migrated:
            return
        async with self._events_migrating:
            if self._events_migrated:
                return
            if await self._redis.hget(self.engine.meta, _EVENT_UNITS_DONE) is None:
                units = {feed.id: feed.unit_code for feed in await self.feeds.list_feeds()}
                cursor = 0
                while True:
                    cursor, chunk = await self._redis.hscan(
                        self._plate_events, cursor, count=EVENT_CHUNK
                    )
                    if isinstance(chunk, dict):  # always (a field list only with no_values)
                        await self._give_units(chunk, units)
                    if not cursor:
                        break
                await self._redis.hset(self.engine.meta, _EVENT_UNITS_DONE, str(time.time()))
            self._events_migrated = True

    async def _give_units(self, chunk: dict[Any, Any], units: dict[str, str | None]) -> None:
        """One chunk of :meth:`_events_ready`: the events in it that have no unit field."""
        keys = {self._plate_events: 1}  # key: its index in KEYS
        args: list[str | int] = []
        for event_id, raw in chunk.items():
            if '"unit_code":' in text(raw):
                continue  # stored with its unit (a key only ever written by us)
            event = event_from_json(raw)
            unit = units.get(event.feed_id)
            index = 0
            if unit is not None:
                index = keys.setdefault(self._unit_events_key(unit), len(keys) + 1)
            fixed = event_json(dataclasses.replace(event, unit_code=unit))
            args += [text(event_id), text(raw), fixed, repr(float(event.at)), index]
        if args:
            await self._event_units_script(keys=list(keys), args=args)


class EventKeys:
    """The KEYS of a plate-event script and the description of its plates.

    Keys are numbered as the script sees them (from 1; the five fixed keys
    first); ``plate`` numbers the distinct plates, which ``plate_args``
    then describes (see ``_PLATES_LUA``), adding their keys. ``event`` and
    ``args`` put together what both scripts take.
    """

    def __init__(self, store: RedisEventIndexes) -> None:
        self._store = store
        self.keys = [
            store._plate_events,
            store._events_by_at,
            store._plates,
            store._plate_grams,
            store._short_plates,
        ]
        self._numbers = {key: number for number, key in enumerate(self.keys, 1)}
        self.plates: dict[str, int] = {}

    def key(self, name: str) -> int:
        number = self._numbers.get(name)
        if number is None:
            self.keys.append(name)
            number = self._numbers[name] = len(self.keys)
        return number

    def plate(self, plate: str) -> int:
        number = self.plates.get(plate)
        if number is None:
            number = self.plates[plate] = len(self.plates) + 1
        return number

    def event(self, event: PlateEvent) -> list[str | int]:
        """An event's plate number and its checkpoint, feed and unit (0: none) key indexes."""
        unit = event.unit_code
        return [
            self.plate(event.plate),
            self.key(self._store._checkpoint_events_key(event.checkpoint)),
            self.key(self._store._feed_events_key(event.feed_id)),
            0 if unit is None else self.key(self._store._unit_events_key(unit)),
        ]

    def args(self, events: Sequence[object], described: list[str | int]) -> list[str | int]:
        """A script's ARGV: event and plate counts, the events ``described``, the plates."""
        return [len(events), len(self.plates), *described, *self.plate_args()]

    def plate_args(self) -> list[str | int]:
        args: list[str | int] = []
        for plate in self.plates:
            folded = fold(plate)
            trigrams = trigrams_of(folded)
            grams = short_grams(folded)
            args += [plate, self.key(self._store._plate_events_key(plate)), len(trigrams)]
            args += [self.key(self._store._trigram_key(t)) for t in trigrams]
            args += [len(grams), *grams]
        return args


def fold(plate: str) -> str:
    """A plate as the search indexes see it: ASCII letters in upper case (as Lua's upper)."""
    return plate.translate(_ASCII_UPPER)


def trigrams_of(folded: str) -> list[str]:
    """The distinct three-character parts of a (folded) plate or query."""
    return sorted({folded[i : i + 3] for i in range(len(folded) - 2)})


def short_grams(folded: str) -> list[str]:
    """The distinct one- and two-character parts of a folded plate."""
    return sorted({*folded, *(folded[i : i + 2] for i in range(len(folded) - 1))})


def event_json(event: PlateEvent) -> str:
    # The plate comes early: a search that walks events reads it out of the text.
    return dump(
        {
            "id": event.id,
            "plate": event.plate,
            "feed_id": event.feed_id,
            "checkpoint": event.checkpoint,
            "at": event.at,
            "display": event.display,
            "province_code": event.province_code,
            "confidence": event.confidence,
            "crop": event.crop,
            "thumbnail": event.thumbnail,
            "alert": event.alert,
            "colour": event.colour,
            "unit_code": event.unit_code,
        }
    )


def event_from_json(raw: Raw) -> PlateEvent:
    record = json.loads(raw)
    return PlateEvent(
        id=record["id"],
        feed_id=record["feed_id"],
        checkpoint=record["checkpoint"],
        at=float(record["at"]),
        plate=record["plate"],
        display=record["display"],
        province_code=record["province_code"],
        confidence=float(record["confidence"]),
        crop=record["crop"],
        thumbnail=record["thumbnail"],
        alert=record["alert"],
        colour=record.get("colour"),  # events stored before colours were kept have none
        unit_code=record.get("unit_code"),  # see RedisStore._events_ready
    )
