"""The several-node engine of the plate store: keys in the conference store's Redis database.

It shares that store's connection pool and key prefix
(:class:`conference.store.redis.RedisEngine`) and keeps the semantics of
:mod:`anpr_feed.events_store.sqlite` (the contract tests run on both). Its
keys, ``P`` being the prefix (see :mod:`conference.store.redis` for the rest)::

    P plate_events                    hash   event id -> event JSON
    P plate_events_by_at              zset   every event id, score = at
    P checkpoint_events:<checkpoint>  zset   the checkpoint's event ids, score = at
    P feed_events:<feed id>           zset   the feed's event ids, score = at (kept with the feed)
    P unit_events:<unit code>         zset   ids of the events kept for the unit, score = at
    P plate_events_of:<plate>         zset   the plate's event ids, score = at
    P plates                          set    every plate that has events (a plate_events_of key)
    P short_plates                    set    those of them with fewer than 3 characters
    P plate_trigram:<abc>             set    plates containing abc (plates in ASCII upper case)
    P plate_grams                     hash   1- or 2-character part -> how many plates contain it
    P watch                           hash   entry id -> watch-list entry JSON
    P watch_patterns                  hash   pattern -> entry id (one entry per pattern)
    P outbreaks                       hash   outbreak id -> outbreak JSON

and the travel declarations' keys (see :mod:`.declarations`).

Plate events are searched by any part of the plate without reading every
event: a plate joins ``plates``, the trigram sets of its three-character parts
and the counts of ``plate_grams`` with its first event and leaves them with its
last (both in Lua, so concurrent writers agree on "first" and "last"). A search
either intersects trigram sets into candidate plates and merges their
``plate_events_of`` sets by time, or walks a time index newest first and tests
each plate, whichever the counts say is cheaper (see
:meth:`.search.RedisPlateSearch.search_plates`).

Events stored before each kept its camera's unit get it once, before any
plate event is read or written after an upgrade: the unit of their camera if
it is still registered, none (administrators only) otherwise; ``meta`` then
holds ``schema:plate-event-units`` (see :meth:`.indexes.RedisEventIndexes._events_ready`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anpr_feed.events_store.redis.declarations import RedisDeclarations
from anpr_feed.events_store.redis.events import RedisPlateEvents
from anpr_feed.events_store.redis.lists import RedisOutbreaks, RedisWatchList
from conference.store import FeedStore
from conference.store.redis import RedisEngine

if TYPE_CHECKING:
    from anpr_feed.events_store.protocols import PlateStore

__all__ = ["RedisPlateStore"]


class RedisPlateStore(RedisPlateEvents, RedisWatchList, RedisOutbreaks, RedisDeclarations):
    """:class:`~anpr_feed.events_store.protocols.PlateStore` in a conference store's Redis database.

    ``feeds`` is that store: the once-per-database upgrade of old events reads
    their cameras' units from it.
    """

    def __init__(self, engine: RedisEngine, feeds: FeedStore) -> None:
        super().__init__(engine)
        self.feeds = feeds


if TYPE_CHECKING:

    def _conforms(store: RedisPlateStore) -> PlateStore:
        """Makes mypy check that RedisPlateStore has every method of the protocol."""
        return store
