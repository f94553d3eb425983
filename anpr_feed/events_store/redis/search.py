"""Plate-event search in the Redis engine: a walk newest first or a merge of candidate plates."""

from __future__ import annotations

import math
from collections.abc import Sequence

from anpr_feed.events_store.protocols import PlateEventStore
from anpr_feed.events_store.records import PlateEvent, PlateQuery, plate_query
from anpr_feed.events_store.redis.indexes import (
    RedisEventIndexes,
    event_from_json,
    fold,
    trigrams_of,
)
from conference.store.redis.engine import below, text

# A search never asks for more than this many events (SQLite's engine clamps
# the same way).
_MAX_RESULTS = 1000

# What the merge costs beyond its candidate plates for a 1- or 2-character
# query: a union over the trigram sets that may hold it.
_SHORT_QUERY_COST = {1: 500, 2: 50}

# A search limited to at most this many feeds may walk their time indexes
# merged (one comparison per feed and event); more feeds are tested instead.
_MAX_WALKED_FEEDS = 64


class RedisPlateSearch(RedisEventIndexes, PlateEventStore):
    """The search half of the Redis plate-event store."""

    async def search_plates(self, criteria: PlateQuery) -> list[PlateEvent]:
        """Passes whose plate contains ``criteria.plate`` (any part of it), newest first.

        ``plate`` is read as :func:`plate_query` reads it (letters and digits,
        upper case); the window is ``start <= at < end``; ``limit`` is
        clamped to 1..1000; ``feed_ids`` limits the search to those cameras,
        ``unit_codes`` to the events kept for those units.

        One round trip of counts (events in the window of each index that
        could be walked, plates, plates holding the query) chooses between

        * the walk: a time index newest first (the checkpoint's or the global
          one, or the feeds' or the units' merged, whichever has fewer events
          in the window), testing each event's plate, checkpoint, feed and unit until
          ``limit`` pass: about ``limit * plates / candidates`` events, or
          the whole window if it holds fewer matches;
        * the merge: the candidate plates (trigram sets intersected for a
          query of three characters or more; for a shorter one, the trigram
          sets holding it, and the short plates) each give their newest
          events in the window, and the newest of all are kept: about one
          sorted-set read per candidate plate.

        The walk suits common parts ("1", "30") and no plate at all, the
        merge rare ones ("12345"). A walk that has read more events than
        the merge would cost (the plates it looks for only passed long ago,
        say) stops, and the merge answers.
        """
        plate, start, end = criteria.plate, criteria.start, criteria.end
        checkpoint, limit = criteria.checkpoint, criteria.limit
        feed_ids, unit_codes = criteria.feed_ids, criteria.unit_codes
        query = plate_query(plate)
        limit = max(1, min(limit, _MAX_RESULTS))
        feeds = None if feed_ids is None else sorted(set(feed_ids))
        units = None if unit_codes is None else sorted(set(unit_codes))
        if (feeds is not None and not feeds) or (units is not None and not units):
            return []
        await self._events_ready()
        if (start is not None and math.isnan(start)) or (end is not None and math.isnan(end)):
            return []  # SQLite compares with NULL: nothing matches
        window = (
            "-inf" if start is None else repr(float(start)),
            "+inf" if end is None else below(end),
        )
        main = self._checkpoint_events_key(checkpoint) if checkpoint else self._events_by_at
        feed_keys = [] if feeds is None else list(map(self._feed_events_key, feeds))
        walk_feeds = 0 < len(feed_keys) <= _MAX_WALKED_FEEDS
        unit_keys = [] if units is None else list(map(self._unit_events_key, units))
        trigrams = trigrams_of(query)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcount(main, *window)
            if walk_feeds:
                for key in feed_keys:
                    pipe.zcount(key, *window)
            # Every unit of the scope: most have no camera, and drop out here.
            for key in unit_keys:
                pipe.zcount(key, *window)
            if query:
                pipe.scard(self._plates)
                if trigrams:  # plates holding every trigram of the query
                    pipe.sintercard(len(trigrams), [self._trigram_key(t) for t in trigrams])
                else:  # plates holding the 1- or 2-character query
                    pipe.hget(self._plate_grams, query)
            counts = await pipe.execute()
        in_main = int(counts[0])
        in_feeds = [int(count) for count in counts[1 : 1 + len(feed_keys)]] if walk_feeds else []
        after = 1 + len(in_feeds)
        in_units = {
            key: int(count)
            for key, count in zip(unit_keys, counts[after : after + len(unit_keys)], strict=True)
            if int(count)
        }
        if units is not None and not in_units:
            return []  # no event of the scope in the window

        # Walk the feeds' indexes, or the units', or the main one, whichever
        # holds fewest events in the window, testing every other condition.
        sources, in_window, walk_filter = [main], in_main, _filter(query, None, feeds, units)
        if walk_feeds and sum(in_feeds) <= in_window:
            sources = [key for key, count in zip(feed_keys, in_feeds, strict=True) if count]
            in_window, walk_filter = sum(in_feeds), _filter(query, checkpoint, None, units)
        if 0 < len(in_units) <= _MAX_WALKED_FEEDS and sum(in_units.values()) <= in_window:
            sources, in_window = list(in_units), sum(in_units.values())
            walk_filter = _filter(query, checkpoint, feeds, None)
        if not in_window:
            return []
        if not query:
            _, found = await self._walk(sources, end, window, limit, walk_filter, budget=0)
            return [event_from_json(raw) for raw in found]

        plates, holding = int(counts[-2]), int(counts[-1] or 0)
        if not plates or not holding:
            return []
        merge_cost = holding + (0 if trigrams else _SHORT_QUERY_COST[len(query)])
        matching = in_window * holding / plates  # if plates pass about equally often
        walk_cost = in_window if matching <= limit else limit * in_window / matching
        budget = self._walk_budget(walk_cost, merge_cost)
        if budget:
            complete, found = await self._walk(sources, end, window, limit, walk_filter, budget)
            if complete:
                return [event_from_json(raw) for raw in found]
        candidates = await self._candidate_plates(query, trigrams)
        if not candidates:
            return []
        found = await self._merge_events_script(
            keys=[self._plate_events, *map(self._plate_events_key, candidates)],
            args=[limit, *window, *_filter("", checkpoint, feeds, units)],
        )
        return [event_from_json(raw) for raw in found]

    @staticmethod
    def _walk_budget(walk_cost: float, merge_cost: float) -> int:
        """How many events a walk may read before the merge answers (0: merge at once)."""
        return int(2 * merge_cost) + 1000 if walk_cost <= merge_cost else 0

    async def _walk(
        self,
        sources: Sequence[str],
        end: float | None,
        window: tuple[str, str],
        limit: int,
        condition: Sequence[str | int],
        budget: int,
    ) -> tuple[bool, list[str]]:
        """Walk time indexes newest first (see ``_WALK_EVENTS_LUA``): (finished?, JSON)."""
        found = await self._walk_events_script(
            keys=[self._plate_events, *sources],
            args=[
                limit,
                budget,
                *window,
                "" if end is None else repr(float(end)),
                *condition,
            ],
        )
        return bool(found[0]), [text(raw) for raw in found[1:]]

    async def _candidate_plates(self, query: str, trigrams: Sequence[str]) -> list[str]:
        """Every stored plate that contains ``query``, by the trigram sets."""
        if trigrams:
            members = await self._redis.sinter([self._trigram_key(t) for t in trigrams])
        else:
            # The trigrams holding a shorter query, over the characters plates
            # use (the 1-character parts of plate_grams); plates too short for
            # a trigram are in short_plates.
            grams = [text(gram) for gram in await self._redis.hkeys(self._plate_grams)]
            chars = [gram for gram in grams if len(gram) == 1]
            if len(query) == 1:
                holding = {
                    trigram
                    for x in chars
                    for y in chars
                    for trigram in (query + x + y, x + query + y, x + y + query)
                }
            else:
                holding = {trigram for x in chars for trigram in (query + x, x + query)}
            members = await self._redis.sunion(
                [self._short_plates, *(self._trigram_key(t) for t in sorted(holding))]
            )
        return sorted(plate for plate in map(text, members) if query in fold(plate))


def _filter(
    query: str,
    checkpoint: str | None,
    feeds: Sequence[str] | None,
    units: Sequence[str] | None,
) -> list[str | int]:
    """The filter arguments of a search script (see ``read_filter`` in ``_SEARCH_LUA``)."""
    return [
        query,
        checkpoint or "",
        len(feeds or ()),
        *(feeds or ()),
        len(units or ()),
        *(units or ()),
    ]
